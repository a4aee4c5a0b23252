/**
 * Issue 12, defect 1: a leaked email link must not give lasting access to the contact. Over real
 * HTTP: the link's own `t` is no identity token, one link identifies a bounded number of
 * browsers, a browser never reads private-trait segments or money, and a link lapses.
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { signLink } from '../../collector/identity/links.ts';
import { startReceiver } from '../triggers/receiver.ts';
import { DAY, ORIGIN, ring, SECRET, securityApp, shopConfig } from './setup.ts';

/** A version-1 token (before purposes), as links sent before the upgrade carry. */
function legacyToken(contact: string, exp: number): string {
  const plain = Buffer.concat([Buffer.alloc(5), Buffer.from('shop'), Buffer.from(contact)]);
  plain.writeUInt32BE(Math.floor(exp / 1000), 0);
  plain.writeUInt8(4, 4);
  const header = Buffer.concat([Buffer.from([1]), ring.current.id]);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', ring.current.token, iv, { authTagLength: 16 });
  cipher.setAAD(header);
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([header, iv, body, cipher.getAuthTag()]).toString('base64url');
}

let t: Awaited<ReturnType<typeof securityApp>>;
let rx: Awaited<ReturnType<typeof startReceiver>>;
beforeEach(async () => {
  rx = await startReceiver(SECRET);
  t = await securityApp(
    shopConfig({
      webhooks: [
        { segment: 'cameras-fan', on: 'enter', url: rx.url, secret: SECRET, cooldownMinutes: 0 },
      ],
    }),
  );
  // The site owner's CRM: private traits and a 1,500 purchase for the contact.
  const body = JSON.stringify({ gender: 'f', region: 'MD' });
  const traits = await t.api('/v1/contacts/victim/traits?site=shop', { method: 'PUT', body });
  expect(traits.status).toBe(200);
  const purchase = await t.api('/v1/events', {
    method: 'POST',
    body: JSON.stringify({
      events: [
        {
          site: 'shop',
          contact: 'victim',
          type: 'purchase',
          value: 1500,
          currency: 'EUR',
          id: 'order-1',
        },
      ],
    }),
  });
  expect(purchase.status).toBe(200);
});
afterEach(async () => {
  await t.close();
  await rx.close();
});

describe('a leaked email link', () => {
  it("its /r link's own t is not an identity token for /v1/collect", async () => {
    const link = await t.link('victim');
    const linkToken = new URL(link).searchParams.get('t')!;
    const r = await t.collect('attacker1', { token: linkToken });
    expect(r.status).toBe(200);
    expect(r.body.accepted).toBe(1);
    expect(r.body.identify).toMatchObject({ ok: false, error: 'wrong_purpose' });
    expect(r.body.segment).toMatchObject({ known: false });
    expect((await t.segment('attacker1')).known).toBe(false);
  });

  it('identifies at most devicesPerLink (3) browsers, however often it is followed', async () => {
    const link = await t.link('victim');
    // One ms_t passed around, then a fresh ms_t per replay of the link: 20 visitor ids in all.
    const first = await t.click(link);
    let known = 0;
    for (let i = 0; i < 10; i++)
      if ((await t.collect(`shared${i}`, { token: first })).body.segment!.known) known++;
    for (let i = 0; i < 10; i++) {
      if ((await t.collect(`replay${i}`, { token: await t.click(link) })).body.segment!.known)
        known++;
    }
    expect(known).toBe(3);
    const refused = await t.collect('one-more', { token: await t.click(link) });
    expect(refused.body.identify).toMatchObject({ ok: false, error: 'device_limit' });
    // A plain link is a grant of its own, capped the same way.
    const plain = new URL(await t.link('victim', { plain: true })).searchParams.get('ms_t')!;
    let plainKnown = 0;
    for (let i = 0; i < 20; i++)
      if ((await t.collect(`plain${i}`, { token: plain })).body.segment!.known) plainKnown++;
    expect(plainKnown).toBe(3);
  });

  it('a linked browser reads neither private-trait segments nor money; the API key reads them all', async () => {
    const r = await t.collect('attacker2', { token: await t.click(await t.link('victim')) });
    expect(r.body.identify).toEqual({ ok: true });
    for (const seg of [r.body.segment!, await t.segment('attacker2')]) {
      expect(seg.known).toBe(true);
      expect(seg.segments.sort()).toEqual(['cameras-fan', 'women-md-public']);
      expect(seg.rfm).toBeNull();
      expect(seg.cooldown).toBe(false);
      expect(JSON.stringify(seg)).not.toMatch(/women-md"|big-spender|1500/);
    }
    const full = (await (await t.api('/v1/contacts/victim/segment?site=shop')).json()) as {
      segments: string[];
      cooldown: boolean;
      rfm: { m: number } | null;
    };
    expect(full.segments.sort()).toEqual([
      'big-spender',
      'cameras-fan',
      'women-md',
      'women-md-public',
    ]);
    expect(full.cooldown).toBe(true);
    expect(full.rfm).toMatchObject({ m: 5 });
  });

  it('lapses after linkDays: the browser is anonymous, its events stay its own, no contact webhook', async () => {
    const token = await t.click(await t.link('victim'));
    expect((await t.collect('attacker3', { token })).body.segment!.known).toBe(true);
    await rx.waitFor(await t.outboxed());
    const contactDeliveries = rx.got.filter((g) => g.body.contact === 'victim').length;
    expect(contactDeliveries).toBe(1); // the contact entered cameras-fan with the linked browser's view
    const count = (await t.storage.profile('shop', 'c:victim'))!.profile.count;

    t.clock.now += 30 * DAY + 1;
    const seg = await t.segment('attacker3');
    expect(seg).toMatchObject({
      known: false,
      rfm: null,
      cooldown: false,
      lifecycle: 'newbie',
      segments: [],
    });
    // New events (the old token too: expired) stay with the browser's own anonymous profile.
    const after = await t.collect('attacker3', { token, events: [{}, {}] });
    expect(after.body.identify).toMatchObject({ ok: false, error: 'expired_token' });
    expect(after.body.segment).toMatchObject({
      known: false,
      lifecycle: 'newbie',
      segments: ['cameras-fan'],
    });
    expect((await t.storage.profile('shop', 'c:victim'))!.profile.count).toBe(count);
    expect((await t.storage.profile('shop', 'attacker3'))!.profile.count).toBe(2);
    // The anonymous profile's own entry fires with no contact; the contact's webhooks stay silent.
    await rx.waitFor(await t.outboxed());
    expect(rx.got.filter((g) => g.body.contact === 'victim')).toHaveLength(contactDeliveries);
    expect(rx.got.at(-1)!.body).toMatchObject({
      visitor: 'attacker3',
      contact: null,
      change: 'enter',
    });
  });

  it('made before the upgrade (version-1 token): /r still works, bounded; its t identifies nobody', async () => {
    const old = legacyToken('victim', t.clock.now + 10 * DAY);
    const fields = { site: 'shop', to: `${ORIGIN}/cameras/`, token: old, category: 'cameras' };
    const sig = signLink(ring, fields);
    const query = new URLSearchParams({
      site: 'shop',
      to: fields.to,
      ms_cat: 'cameras',
      t: old,
      sig,
    });
    const link = `${t.base}/r?${query}`;
    const direct = await t.collect('old1', { token: old });
    expect(direct.body.identify).toMatchObject({ ok: false, error: 'wrong_purpose' });
    let known = 0;
    for (let i = 0; i < 5; i++) {
      if ((await t.collect(`old-replay${i}`, { token: await t.click(link) })).body.segment!.known)
        known++;
    }
    expect(known).toBe(3);
  });
});
