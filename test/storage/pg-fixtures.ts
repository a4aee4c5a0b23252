/** Shared by the PostgreSQL storage tests: a site with a rule, events to ingest, stored rows. */
import type pg from 'pg';
import { parseConfig } from '../../collector/config/config.ts';
import type { NewEvent } from '../../collector/storage/contract.ts';
import { T0 } from '../temp.ts';

export const config = parseConfig({
  sites: { s: { rules: { big: { when: { fact: 'purchases.total', gte: 100 } } } } },
});
export const engine = config.sites.get('s')?.engine ?? (undefined as never);

/** A page view factory with its own id prefix, so two files' events never share an id. */
export function eventsWith(prefix: string) {
  let n = 0;
  return (over: Partial<NewEvent> = {}): NewEvent => ({
    id: `${prefix}${++n}`,
    type: 'page_view',
    ts: T0,
    category: 'a',
    ...over,
  });
}

/**
 * A visitor's stored events, oldest first: every column two ways of storing an event must agree
 * on, and the session each was given.
 */
export async function storedEvents(admin: pg.Client, visitor: string) {
  const cols =
    'type, ts, received, url, ref, category, nav, target, outbound, value, currency, props, utm, bot, contact';
  const { rows } = await admin.query(
    `SELECT ${cols}, session FROM events WHERE visitor = $1 ORDER BY ts`,
    [visitor],
  );
  return rows as Array<Record<string, unknown> & { session: string }>;
}

/**
 * A click whose every text field holds what a literal must escape (quotes, backslashes, SQL, a
 * line separator), for comparing the ways a batch's events are written.
 */
export const hostileEvent = (id: string, ts: number, over: Partial<NewEvent> = {}): NewEvent => ({
  id,
  type: 'click',
  ts,
  url: "https://x.example/it's\\a?q='; DROP TABLE events; --",
  ref: 'é€\u2028',
  category: "c'\\",
  target: 'https://t.example/',
  outbound: true,
  value: -12.345e-7,
  currency: 'EUR',
  props: { k: 'v\'\\"', n: 1.5e300, b: false },
  utm: { source: "s'" },
  ...over,
});
