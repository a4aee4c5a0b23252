/**
 * A synthetic site's events stored straight into the events table, many rows per statement: a
 * training reads nothing else, and the ingest path (a round trip per statement on PostgreSQL)
 * would take a minute for the tens of thousands of events a test needs.
 */
import type { Storage } from '../../collector/storage/contract.ts';
import { exec } from '../support/backend.ts';
import type { SyntheticSite } from './synthetic.ts';

export async function storeEvents(
  storage: Storage,
  site: string,
  s: SyntheticSite,
): Promise<number> {
  const rows: unknown[][] = [];
  for (const [visitor, events] of s.histories)
    events.forEach((e, k) => {
      rows.push([
        site,
        `${visitor}-${k}`,
        visitor,
        e.type,
        Math.round(e.ts),
        s.end,
        e.category,
        e.value,
        e.utm === null ? null : JSON.stringify(e.utm),
      ]);
    });
  for (let i = 0; i < rows.length; i += 500) {
    const chunk = rows.slice(i, i + 500);
    await exec(
      storage,
      `INSERT INTO events (site, id, visitor, type, ts, received, category, value, utm) VALUES ${chunk
        .map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .join(', ')}`,
      ...chunk.flat(),
    );
  }
  return rows.length;
}
