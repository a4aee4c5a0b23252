/**
 * `microseg train --site S --goal G` on a database file, and the schedule of the jobs leader:
 * a goal without a model is trained, one trained within the period is left alone, a changed
 * goal (its model stale) is trained again.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../collector/config/config.ts';
import { startGoalTraining } from '../../collector/jobs/goals.ts';
import { openStorage, type Storage } from '../../collector/storage/open.ts';
import { cli } from '../cli-capture.ts';
import { tempDir } from '../helpers.ts';
import { storeEvents } from './store.ts';
import { syntheticSite } from './synthetic.ts';

const DAY = 86_400_000;
const GOAL = { event: 'purchase', category: 'cameras', within: '7d' };
const CONFIG = { sites: { shop: { goals: { 'camera-buyer': GOAL } } } };

let tmp: ReturnType<typeof tempDir>;
let file: string;
let configFile: string;
let storage: Storage;

beforeEach(async () => {
  tmp = tempDir();
  file = join(tmp.dir, 'm.db');
  configFile = join(tmp.dir, 'sites.json');
  writeFileSync(configFile, JSON.stringify(CONFIG));
  storage = await openStorage(file);
});

/**
 * The CLI trains at the wall clock, its cut-offs a horizon apart back from now: the data runs to
 * now, so its weeks line up with the cut-offs as in planted.test.ts. (Ending it at midnight left
 * the cut-offs up to a day inside a week, by the hour the test ran: the AUC moved with the clock,
 * 0.79 at 22:00 UTC.)
 */
const store = (visitors: number) =>
  storeEvents(
    storage,
    'shop',
    syntheticSite({
      visitors,
      weeks: 8,
      end: Date.now(),
      signal: true,
      seed: 9,
    }),
  );
afterEach(async () => {
  await storage.close();
  tmp.cleanup();
});

describe('microseg train', () => {
  it('trains the goal now and prints its holdout evaluation', async () => {
    await store(1500);
    const r = await cli(
      'train',
      '--site',
      'shop',
      '--goal',
      'camera-buyer',
      '--config',
      configFile,
      '--db',
      file,
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/site shop, goal camera-buyer: \d+ events of \d+ visitors read/);
    expect(r.out).toMatch(/AUC 0\.[89]\d\d/);
    expect(r.out).toContain('decile       n  predicted observed');
    expect(r.out).toMatch(/the intent heuristic on the same holdout: AUC 0\.\d{3}/);
    expect(r.out).toMatch(/most_likely\s+\d+\.\d%\s+\d+ examples, \d+\.\d% reached the goal/);
    expect((await storage.goals.model('shop', 'camera-buyer'))?.status).toBe('model');
  });

  it('names what is missing', async () => {
    expect((await cli('train', '--site', 'shop')).code).toBe(2);
    const r = await cli(
      'train',
      '--site',
      'shop',
      '--goal',
      'nope',
      '--config',
      configFile,
      '--db',
      file,
    );
    expect(r.code).toBe(2);
    expect(r.err).toContain('no goal "nope" on site "shop"');
  });
});

describe('the training schedule', () => {
  it('trains goals without a fresh model, and a changed goal again', async () => {
    await store(300);
    const config = parseConfig(CONFIG);
    let now = Date.now();
    const lines: string[] = [];
    const job = startGoalTraining(storage, config, {
      now: () => now,
      log: (_level, msg) => void lines.push(msg),
      everyMs: DAY,
      firstAfterMs: 3_600_000,
    });
    try {
      expect(await job.run()).toBe(1);
      expect(lines).toContain('goal trained');
      // Trained within the period: left alone.
      now += 60_000;
      expect(await job.run()).toBe(0);
      // A goal saved through the API changes: its model is stale, trained again.
      await storage.write((tx) =>
        tx.goals.put(
          'shop',
          'any-purchase',
          JSON.stringify({ event: 'purchase', within: '7d' }),
          now,
          20,
        ),
      );
      expect(await job.run()).toBe(1);
      await storage.write((tx) =>
        tx.goals.put(
          'shop',
          'any-purchase',
          JSON.stringify({ event: 'purchase', within: '3d' }),
          now,
          20,
        ),
      );
      expect(await job.run()).toBe(1);
      // Past the period: every goal again.
      now += DAY;
      expect(await job.run()).toBe(2);
    } finally {
      job.stop();
    }
  });
});
