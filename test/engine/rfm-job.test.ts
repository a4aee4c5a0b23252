// The RFM job (collector/jobs/rfm.ts) on a real storage: moved out of storage.test.ts, which tests
// storage alone. It runs once the job is converted to the async storage contract.
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { parseConfig } from '../../collector/config/config.ts';
import { startRfmJob } from '../../collector/jobs/rfm.ts';
import type { Storage } from '../../collector/storage/contract.ts';
import { T0 } from '../temp.ts';
import { openTestStorage, type TestStorage } from '../support/backend.ts';

const config = parseConfig({ sites: { s: { segment: { rfm: { minCustomers: 5 } } } } });

let opened: TestStorage;
let storage: Storage;
beforeEach(async () => {
  opened = await openTestStorage();
  storage = opened.storage;
});
afterEach(async () => {
  await opened.close();
});

it('the job recomputes at start and on its timer, and stops', async () => {
  const logs: string[] = [];
  const job = startRfmJob(
    storage,
    config,
    20,
    () => T0,
    (_l, msg) => logs.push(msg),
  );
  // The first round at start, the next on the 20 ms timer (waited for, not timed: a loaded
  // machine makes a round slower, never a second one unnecessary).
  await vi.waitFor(() => expect(logs.length).toBeGreaterThanOrEqual(2), { timeout: 10_000 });
  expect(logs[0]).toBe('rfm quintiles');
  job.stop();
  const seen = logs.length;
  await new Promise((r) => setTimeout(r, 50));
  expect(logs.length).toBe(seen);
});
