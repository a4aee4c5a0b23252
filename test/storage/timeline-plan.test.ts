/**
 * A contact's timeline (the person page of a linked visitor, `GET /v1/visitors/:id`) reads the
 * contact's own rows (`events_contact`), not the site's history backwards by time: without
 * statistics SQLite's planner chose `events_age` for the ORDER BY … LIMIT, 1.7 s per person at
 * 1.17M events (bench: `npm run bench -- --only dashboard --dashboard-full`).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openStorage } from '../../collector/storage/open.ts';
import type { Storage } from '../../collector/storage/contract.ts';
import { TIMELINE_BY_CONTACT } from '../../collector/storage/sqlite/dashboard.ts';
import { sqliteHandle } from '../../collector/storage/sqlite/index.ts';
import { tempDir } from '../helpers.ts';

let storage: Storage;
const tmp = tempDir();
beforeAll(async () => {
  storage = await openStorage(`${tmp.dir}/plan.db`);
});
afterAll(async () => {
  await storage.close();
  tmp.cleanup();
});

it("a contact's timeline page walks events_contact", () => {
  const plan = (
    sqliteHandle(storage)
      .prepare(`EXPLAIN QUERY PLAN ${TIMELINE_BY_CONTACT}`)
      .all('s', 'c1', 1e15, 1e15, 'z', 50) as { detail: string }[]
  )
    .map((r) => r.detail)
    .join(' | ');
  expect(plan).toMatch(/USING INDEX events_contact/);
  expect(plan).not.toMatch(/events_age/);
});
