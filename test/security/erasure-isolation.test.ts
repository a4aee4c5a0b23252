/**
 * Issue 12, defect 9: a device identified as contact X, then as Y, lost its link to Y and Y's
 * events when X was erased (X's old webhook delivery named the device, and erasure took every row
 * of it). Now erasing a contact removes every row that is the contact's — its anonymous past
 * included — and nothing else: every row that does not name X is untouched, byte for byte.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../collector/cli/cli.ts';
import type { Storage } from '../../collector/storage/contract.ts';
import { BACKEND, databaseArg, exec, row, rows } from '../support/backend.ts';
import { API_KEY, collector, event, type Collector } from './support.ts';

const X = 'crm-xavier';
const Y = 'crm-yolanda';
const DEAD = 'http://127.0.0.1:9/hook'; // nothing listens: deliveries stay in the outbox
const CONFIG = {
  sites: {
    shop: {
      origins: ['https://shop.example'],
      allowAutomation: true,
      apiKeys: [API_KEY],
      webhookSecret: 'erasure-test-secret-0123456789',
      // Every key change writes a delivery naming the visitor and its contact, and a cooldown
      // turn: the first webhook's lasts a day (an anonymous device's turn outlives its link), the
      // second's none (each turn is taken anew, by whoever owns the device's profile then).
      webhooks: [
        { segment: 'key:*:*:*', on: 'enter', url: DEAD },
        { segment: 'key:*:*:*', on: 'enter', url: `${DEAD}/again`, cooldownMinutes: 0 },
      ],
    },
  },
  delivery: { backoffMs: 3_600_000, maxBackoffMs: 3_600_000 },
};

/** Columns a background worker may change while the test runs (delivery attempts). */
const VOLATILE = new Set([
  'status',
  'attempts',
  'next_attempt',
  'last_attempt',
  'last_status',
  'last_error',
  'delivered_at',
]);

/**
 * Tables of counts the background snapshot job writes on its own schedule (never an id: an erasure
 * leaves them as they were, docs/security.md), which may gain rows between two snapshots.
 */
const BACKGROUND = new Set(['stats_rollup', 'segment_sizes']);

/**
 * Every row of every table as text (its values in column order), volatile columns left out; the
 * tables from the catalog (sqlite_master, or information_schema on PostgreSQL), BACKGROUND's aside.
 */
async function snapshot(storage: Storage): Promise<Map<string, string[]>> {
  const pg = BACKEND === 'postgres';
  const out = new Map<string, string[]>();
  const tables = await rows<{ name: string }>(
    storage,
    pg
      ? `select table_name as name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE' and table_name not like '%migrations%'`
      : `select name from sqlite_master where type = 'table' and name not like '%migrations%'`,
  );
  for (const { name: table } of tables) {
    if (BACKGROUND.has(table)) continue;
    const info = await rows<{ name: string }>(
      storage,
      pg
        ? `select column_name as name from information_schema.columns where table_schema = current_schema() and table_name = ? order by ordinal_position`
        : `select name from pragma_table_info(?)`,
      table,
    );
    const cols = info.map((c) => `"${c.name}"`).filter((c) => !VOLATILE.has(c.slice(1, -1)));
    const all = await rows(storage, `select ${cols.join(',')} from "${table}"`);
    out.set(table, all.map((r) => JSON.stringify(Object.values(r))).sort());
  }
  return out;
}

/** The rows of `before` that do not mention `id`, per table: what erasing `id` must leave exactly. */
function without(before: Map<string, string[]>, id: string): Map<string, string[]> {
  return new Map([...before].map(([t, rows]) => [t, rows.filter((r) => !r.includes(id))]));
}

/** Table → rows mentioning `id`, tables without any left out. */
const mentions = (snap: Map<string, string[]>, id: string) =>
  Object.fromEntries(
    [...snap]
      .map(([t, rows]) => [t, rows.filter((r) => r.includes(id)).length] as const)
      .filter(([, n]) => n !== 0),
  );

/** Events of the shared device that are `contact`'s. */
const sharedEvents = async (contact: string) =>
  (
    await row<{ n: number }>(
      c.running.storage,
      `select count(*) as n from events where visitor = 'shared' and contact = ?`,
      contact,
    )
  )?.n;

let c: Collector;
afterEach(async () => {
  vi.restoreAllMocks();
  await c?.close();
});

async function token(contact: string): Promise<string> {
  const links = [{ contact, to: 'https://shop.example/' }];
  const res = await c.api('POST', '/v1/links', { site: 'shop', plain: true, links });
  return new URL(res.json().links[0].url).searchParams.get('ms_t')!;
}

async function send(visitor: string, extra: Record<string, unknown> = {}, category = 'cameras') {
  const batch = { site: 'shop', visitor, events: [event({ category }), 7], ...extra };
  const res = await c.http('POST', '/v1/collect', batch);
  expect(res.status).toBe(200);
}

/**
 * A shared device `shared`: anonymous first, then identified as X; X's link lapses (as it does
 * `identity.linkDays` after its token) and the device, anonymous again, is identified as Y. Y also
 * has a phone; `bystander` is anonymous. Each step writes events, segment history, a webhook
 * delivery and a refused event (the `7`).
 */
async function story() {
  c = await collector(CONFIG);
  await send('shared');
  await send('shared', { token: await token(X) }, 'sports');
  await send('shared', {}, 'books');
  await exec(c.running.storage, `update links set expires = 1 where visitor = 'shared'`);
  await send('shared', {}, 'lapsed');
  await send('shared', { token: await token(Y) }, 'garden');
  await send('shared', {}, 'toys');
  await send('yphone', { token: await token(Y) }, 'music');
  await send('bystander');
  // Both people really have rows on the shared device, in every kind of table.
  expect(await sharedEvents(X)).toBe(3); // the anonymous event, claimed at X's link, and two as X
  expect(await sharedEvents(Y)).toBe(3); // the one after X's link lapsed, claimed at Y's link, and two as Y
  return c.running.storage;
}

describe('erasing one contact of a shared device', () => {
  it('DELETE /v1/contacts/X removes every row of X and nothing of Y or anyone else', async () => {
    const storage = await story();
    const before = await snapshot(storage);
    const tables = [
      'events',
      'profiles',
      'segment_changes',
      'webhook_deliveries',
      'webhook_cooldowns',
      'quarantine',
      'links',
    ];
    for (const table of tables) {
      expect(mentions(before, X)[table], table).toBeGreaterThan(0);
    }
    const res = await c.api('DELETE', `/v1/contacts/${X}?site=shop`);
    expect(res.status).toBe(200);
    expect(res.json().visitors.sort()).toEqual([`c:${X}`, 'shared']);
    const after = await snapshot(storage);
    expect(mentions(after, X)).toEqual({});
    expect(after).toEqual(without(before, X));
    // The device is still Y's.
    const seg = await c.http('GET', '/v1/segment?site=shop&visitor=shared');
    expect(seg.json()).toMatchObject({ known: true, category: expect.any(String) });
    expect(
      (await row(storage, `select contact from links where visitor = 'shared'`))?.contact,
    ).toBe(Y);
  });

  it("DELETE /v1/contacts/Y (the device's owner now) leaves X's past on the device", async () => {
    const storage = await story();
    const before = await snapshot(storage);
    const res = await c.api('DELETE', `/v1/contacts/${Y}?site=shop`);
    expect(res.json().visitors.sort()).toEqual([`c:${Y}`, 'shared', 'yphone']);
    const after = await snapshot(storage);
    expect(mentions(after, Y)).toEqual({});
    // Y's phone is Y's through and through: none of its rows names anyone else.
    expect(mentions(after, 'yphone')).toEqual({});
    // The device's anonymous cooldown turn taken before X's link is X's (claimed with its other
    // anonymous rows) and stays; the one taken after X's link lapsed is Y's and goes.
    const cooldowns = (snap: Map<string, string[]>) =>
      snap.get('webhook_cooldowns')!.filter((r) => r.includes('"shared"'));
    expect(
      cooldowns(before)
        .map((r) => JSON.parse(r).at(-1))
        .sort(),
    ).toEqual([X, Y]);
    expect(cooldowns(after).map((r) => JSON.parse(r).at(-1))).toEqual([X]);
    expect(after).toEqual(without(without(before, Y), 'yphone'));
    expect(await sharedEvents(X)).toBe(3);
  });

  it('`microseg forget --contact` does the same on the database', async () => {
    const storage = await story();
    const before = await snapshot(storage);
    const out = vi.spyOn(console, 'log').mockImplementation(() => {});
    expect(
      await main(['forget', '--db', databaseArg(storage), '--site', 'shop', '--contact', X]),
    ).toBe(0);
    expect(JSON.parse(out.mock.calls[0]![0] as string).contact).toBe(X);
    expect(await snapshot(storage)).toEqual(without(before, X));
  });

  it("DELETE /v1/visitors/:id removes that visitor id's rows and nothing else", async () => {
    const storage = await story();
    const before = await snapshot(storage);
    const res = await c.api('DELETE', '/v1/visitors/bystander?site=shop');
    expect(res.json().total).toBeGreaterThan(0);
    expect(await snapshot(storage)).toEqual(without(before, 'bystander'));
  });
});
