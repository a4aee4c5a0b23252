// Sessions assigned at ingest (collector/storage/sqlite/sessions.ts): the snippet sends none.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rows } from '../support/backend.ts';
import { collectRequest, ev, T0, testApp } from '../helpers.ts';

const MIN = 60_000;

let t: Awaited<ReturnType<typeof testApp>>;
beforeEach(async () => {
  t = await testApp({ now: T0 + 24 * 60 * MIN });
});
afterEach(() => t.close());

const collect = (events: ReturnType<typeof ev>[], visitor = 'v1') =>
  t.app.request(collectRequest({ site: 'demo', visitor, events }));

/** Each stored event's session, by event id. */
const sessions = async (): Promise<Record<string, string | null>> =>
  Object.fromEntries(
    (
      await rows<{ id: string; session: string | null }>(
        t.storage,
        "SELECT id, session FROM events WHERE site = 'demo'",
      )
    ).map((r) => [r.id, r.session]),
  );

const at = (id: string, minutes: number) => ev({ id, ts: T0 + minutes * MIN });

describe('sessions at ingest', () => {
  it('keeps one session while events come less than 30 minutes apart, named by its first event', async () => {
    await collect([at('a', 0), at('b', 10)]);
    await collect([at('c', 39)]);
    expect(await sessions()).toEqual({ a: 'a', b: 'a', c: 'a' });
  });

  it('starts a new session after 30 minutes idle', async () => {
    await collect([at('a', 0), at('b', 30), at('c', 45)]);
    expect(await sessions()).toEqual({ a: 'a', b: 'b', c: 'b' });
  });

  it('keeps visitors apart', async () => {
    await collect([at('a', 0)], 'v1');
    await collect([at('b', 1)], 'v2');
    expect(await sessions()).toEqual({ a: 'a', b: 'b' });
  });

  it('counts a retried batch once and leaves its sessions as they were', async () => {
    const batch = [at('a', 0), at('b', 5)];
    await collect(batch);
    await collect([at('c', 50)]);
    const res = (await (await collect(batch)).json()) as { duplicates: number };
    expect(res.duplicates).toBe(2);
    expect(await sessions()).toEqual({ a: 'a', b: 'a', c: 'c' });
  });

  it('puts a late event (a retry queue sent after later events) into the session around it', async () => {
    await collect([at('a', 0), at('c', 20)]);
    await collect([at('b', 10)]);
    expect((await sessions()).b).toBe('a');
  });

  it('lets a late event that precedes a session by less than 30 minutes join it', async () => {
    await collect([at('b', 100)]);
    await collect([at('a', 80)]);
    expect(await sessions()).toEqual({ a: 'b', b: 'b' });
  });

  it('gives a late event far from any other its own session', async () => {
    await collect([at('b', 100)]);
    await collect([at('a', 0)]);
    expect(await sessions()).toEqual({ a: 'a', b: 'b' });
  });

  it('keeps a session a sender states (older snippets, other senders)', async () => {
    await collect([{ ...at('a', 0), session: 'S1' }, at('b', 5)]);
    expect(await sessions()).toEqual({ a: 'S1', b: 'S1' });
  });
});
