/** What the PostgreSQL storage tests share: a site with one rule on money, and events to ingest. */
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
