/**
 * Issue 12, defect 2: nobody can make a contact's webhooks flap or pile up email clicks. Over
 * real HTTP with a real receiver on 127.0.0.1: 30 requests that flip a contact in and out of a
 * segment give one enter and one exit per cooldown; 10 replays of one `/r` link count one click.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../collector/config/config.ts';
import { runRetention } from '../../collector/jobs/retention.ts';
import { row } from '../support/backend.ts';
import { startReceiver } from '../triggers/receiver.ts';
import { DAY, ORIGIN, SECRET, securityApp, shopConfig } from './setup.ts';

const MIN = 60_000;
let t: Awaited<ReturnType<typeof securityApp>>;
let rx: Awaited<ReturnType<typeof startReceiver>>;
beforeEach(async () => {
  rx = await startReceiver(SECRET);
  t = await securityApp(flapConfig());
});
const flapConfig = () =>
  shopConfig({
    rules: {
      'just-saw-cameras': {
        when: { count: { type: 'page_view', category: 'cameras', within: '1m' }, gte: 1 },
      },
    },
    webhooks: [
      { segment: 'just-saw-cameras', on: 'enter', url: rx.url, secret: SECRET },
      { segment: 'just-saw-cameras', on: 'exit', url: rx.url, secret: SECRET },
    ],
  });
afterEach(async () => {
  await t.close();
  await rx.close();
});

describe('webhook flapping', () => {
  it('30 requests flipping a contact in and out give one enter and one exit per cooldown (default 24 h)', async () => {
    const token = await t.click(await t.link('victim'));
    const linked = await t.collect('flapper', { token, events: [{ url: `${ORIGIN}/about` }] });
    expect(linked.body.segment!.known).toBe(true);
    for (let i = 0; i < 30; i++) {
      t.clock.now += 2 * MIN; // the 1-minute window has emptied: every request is a transition
      const url = i % 2 === 0 ? `${ORIGIN}/cameras/c${i}` : `${ORIGIN}/about`;
      const r = await t.collect('flapper', { events: [{ url }] });
      expect(r.body.segment!.segments.includes('just-saw-cameras')).toBe(i % 2 === 0);
    }
    // Every transition is in the contact's history; the receiver gets the first enter and exit.
    const history = (await t.storage.segmentHistory('shop', 'c:victim', { limit: 1000 })).filter(
      (h) => h.name === 'just-saw-cameras',
    );
    expect(history).toHaveLength(30);
    expect(await t.outboxed()).toBe(2);
    const got = await rx.waitFor(2);
    expect(got.map((g) => `${g.body.contact} ${g.body.change}`)).toEqual([
      'victim enter',
      'victim exit',
    ]);
    expect(got.every((g) => g.valid)).toBe(true);

    // After the cooldown, the next transition is sent again.
    t.clock.now += DAY;
    await t.collect('flapper', { events: [{ url: `${ORIGIN}/cameras/again` }] });
    expect(await t.outboxed()).toBe(3);
    expect((await rx.waitFor(3))[2]!.body).toMatchObject({ contact: 'victim', change: 'enter' });
  });

  it('the cooldown is per person: another contact entering is sent at once', async () => {
    for (const who of ['alice', 'bob']) {
      const token = await t.click(await t.link(who));
      await t.collect(`${who}-phone`, { token, events: [{ url: `${ORIGIN}/cameras/x` }] });
    }
    expect(await t.outboxed()).toBe(2);
    expect((await rx.waitFor(2)).map((g) => g.body.contact).sort()).toEqual(['alice', 'bob']);
  });
});

describe('cooldown turns', () => {
  it('are pruned by retention once older than the longest cooldown, when they can hold nothing back', async () => {
    // No storage read lists cooldown turns: counted in the table itself.
    const turns = async () =>
      (await row(t.storage, 'SELECT count(*) AS n FROM webhook_cooldowns'))?.n;
    for (const v of ['anon1', 'anon2'])
      await t.collect(v, { events: [{ url: `${ORIGIN}/cameras/x` }] });
    expect(await turns()).toBe(2);
    const config = parseConfig(flapConfig());
    await runRetention(t.storage, config, t.clock.now + DAY - MIN);
    expect(await turns()).toBe(2);
    // Was: kept for good (one row per anonymous visitor a webhook ever fired for).
    await runRetention(t.storage, config, t.clock.now + DAY + MIN);
    expect(await turns()).toBe(0);
    // The webhooks fire on as before.
    t.clock.now += DAY + 2 * MIN;
    await t.collect('anon1', { events: [{ url: `${ORIGIN}/about` }] });
    expect(await t.outboxed()).toBe(3);
  });
});

describe('email-link replays', () => {
  it('10 replays of one /r link count one email_click and do not make the contact hot', async () => {
    const link = await t.link('victim');
    for (let i = 0; i < 10; i++) await t.click(link);
    const clicks = await row<{ n: number }>(
      t.storage,
      "SELECT count(*) AS n FROM events WHERE site = 'shop' AND visitor = 'c:victim' AND type = 'email_click'",
    );
    expect(clicks?.n).toBe(1);
    const seg = (await (await t.api('/v1/contacts/victim/segment?site=shop')).json()) as {
      engagement: string;
    };
    expect(seg.engagement).not.toBe('hot');
    // The next click window counts the next click.
    t.clock.now += DAY;
    await t.click(link);
    expect((await t.storage.profile('shop', 'c:victim'))!.profile.count).toBe(2);
  });
});
