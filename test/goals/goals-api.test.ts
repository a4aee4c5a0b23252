/**
 * Goals (issue 20) through the HTTP API on a real database (SQLite, and PostgreSQL in suite-pg):
 * create, read, update, delete; errors naming the path; config goals read-only; bounds; the model
 * answer before any training (the intent heuristic serves, and says so), after one, and once the
 * goal changed (stale).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GOAL_LIMITS } from '../../shared/limits.ts';
import { type ConfigFile, ConfigError, parseConfig } from '../../collector/config/config.ts';
import { goalKey } from '../../collector/goals/goal.ts';
import { createApp } from '../../collector/http/app.ts';
import { placeholderSnippets } from '../../collector/http/snippet-asset.ts';
import { T0 } from '../helpers.ts';
import { openTestStorage, type TestStorage } from '../support/backend.ts';

const KEY = 'goals-api-key-0123456789';
const CONFIG: ConfigFile = {
  sites: {
    shop: {
      apiKeys: [KEY],
      goals: { 'from-config': { event: 'signup', within: '30d' } },
    },
    other: { apiKeys: ['other-key-0123456789abc'] },
  },
};
const CAMERA = { event: 'purchase', category: 'cameras', within: '14d' };

let db: TestStorage;
let app: ReturnType<typeof createApp>;

beforeEach(async () => {
  db = await openTestStorage();
  app = createApp({
    storage: db.storage,
    config: parseConfig(CONFIG),
    now: () => T0,
    snippets: placeholderSnippets(),
  });
});
afterEach(async () => {
  await db.close();
});

const api = (path: string, init: RequestInit = {}, key = KEY) =>
  app.request(`http://localhost:8787${path}`, {
    ...init,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
  });
const put = (name: string, body: unknown) =>
  api(`/v1/goals/${name}?site=shop`, { method: 'PUT', body: JSON.stringify(body) });

describe('goals API', () => {
  it('creates, reads, lists, changes and deletes a goal', async () => {
    const created = await put('camera-buyer', CAMERA);
    expect(created.status).toBe(201);
    expect((await created.json()).goal).toMatchObject({
      name: 'camera-buyer',
      ...CAMERA,
      source: 'api',
    });
    const got = await api('/v1/goals/camera-buyer?site=shop');
    expect(got.status).toBe(200);
    expect((await got.json()).goal).toMatchObject(CAMERA);
    const changed = await put('camera-buyer', {
      ...CAMERA,
      within: '7d',
      props: { brand: 'acme' },
    });
    expect(changed.status).toBe(200);
    const list = await (await api('/v1/goals?site=shop')).json();
    expect(
      list.goals.map((g: { name: string; readOnly: boolean }) => [g.name, g.readOnly]),
    ).toEqual([
      ['from-config', true],
      ['camera-buyer', false],
    ]);
    expect(list.goals[1]).toMatchObject({ within: '7d', props: { brand: 'acme' } });
    const del = await api('/v1/goals/camera-buyer?site=shop', { method: 'DELETE' });
    expect(del.status).toBe(200);
    expect((await api('/v1/goals/camera-buyer?site=shop')).status).toBe(404);
    expect((await api('/v1/goals/camera-buyer?site=shop', { method: 'DELETE' })).status).toBe(404);
  });

  it('refuses a bad goal with the path of each problem', async () => {
    const res = await put('g', { event: '', within: '2w', extra: 1, props: { k: { deep: 1 } } });
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.error).toBe('invalid_goal');
    const paths = body.problems.map((p: { path: string }) => p.path);
    expect(paths).toEqual(expect.arrayContaining(['event', 'within', 'props.k', '']));
    expect(body.message).toContain('within:');
    const far = await put('g', { event: 'purchase', within: `${GOAL_LIMITS.maxWithinDays + 1}d` });
    expect((await far.json()).message).toContain(`at most ${GOAL_LIMITS.maxWithinDays} days`);
    expect((await put('bad name!', CAMERA)).status).toBe(400);
    const big = await api('/v1/goals/g?site=shop', {
      method: 'PUT',
      body: JSON.stringify({ ...CAMERA, description: 'x'.repeat(GOAL_LIMITS.goalBytes) }),
    });
    expect(big.status).toBe(413);
    expect((await api('/v1/goals/g?site=shop', { method: 'PUT', body: '{' })).status).toBe(400);
  });

  it('keeps config goals read-only and shows them', async () => {
    expect((await put('from-config', CAMERA)).status).toBe(409);
    expect((await api('/v1/goals/from-config?site=shop', { method: 'DELETE' })).status).toBe(409);
    const got = await (await api('/v1/goals/from-config?site=shop')).json();
    expect(got.goal).toMatchObject({ event: 'signup', source: 'config', readOnly: true });
  });

  it("needs the site's API key, and keeps sites apart", async () => {
    expect((await api('/v1/goals?site=shop', {}, 'wrong-key-0123456789abcd')).status).toBe(401);
    expect((await api('/v1/goals?site=shop', {}, 'other-key-0123456789abc')).status).toBe(403);
    await put('camera-buyer', CAMERA);
    const other = await api('/v1/goals?site=other', {}, 'other-key-0123456789abc');
    expect((await other.json()).goals).toEqual([]);
  });

  it(`refuses more than ${GOAL_LIMITS.goalsPerSite} goals per site`, async () => {
    for (let i = 0; i < GOAL_LIMITS.goalsPerSite; i++)
      expect((await put(`g${i}`, CAMERA)).status).toBe(201);
    const res = await put('one-more', CAMERA);
    expect(res.status).toBe(409);
    expect((await res.json()).error).toBe('too_many_goals');
    // A change of an existing one is not a new one.
    expect((await put('g0', { ...CAMERA, within: '3d' })).status).toBe(200);
  });

  it('answers the model: untrained, trained, then stale once the goal changes', async () => {
    await put('camera-buyer', CAMERA);
    const before = await (await api('/v1/goals/camera-buyer/model?site=shop')).json();
    expect(before).toMatchObject({ status: 'untrained', fallback: 'intent', trained: null });
    const report = { status: 'fallback', reason: '12 training examples, fewer than 200' };
    await db.storage.write((tx) =>
      tx.goals.saveModel('shop', {
        goal: 'camera-buyer',
        definition: goalKey(CAMERA),
        trained: T0,
        status: 'fallback',
        model: null,
        evaluation: JSON.stringify(report),
      }),
    );
    const after = await (await api('/v1/goals/camera-buyer/model?site=shop')).json();
    expect(after).toMatchObject({
      status: 'fallback',
      fallback: 'intent',
      reason: report.reason,
      stale: false,
      trained: T0,
    });
    await put('camera-buyer', { ...CAMERA, within: '7d' });
    const stale = await (await api('/v1/goals/camera-buyer/model?site=shop')).json();
    expect(stale.stale).toBe(true);
    expect((await api('/v1/goals/nope/model?site=shop')).status).toBe(404);
    // Deleting the goal deletes its model.
    await api('/v1/goals/camera-buyer?site=shop', { method: 'DELETE' });
    expect(await db.storage.goals.model('shop', 'camera-buyer')).toBeUndefined();
  });
});

describe('goals in the config file', () => {
  it('names the path of a bad goal', () => {
    const bad = { sites: { s: { goals: { g: { event: 'purchase', within: 'soon' } } } } };
    expect(() => parseConfig(bad)).toThrow(ConfigError);
    expect(() => parseConfig(bad)).toThrow(/sites\.s\.goals\.g\.within/);
  });
});
