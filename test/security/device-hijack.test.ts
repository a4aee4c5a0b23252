/**
 * Issue 12, defect 3: `{visitor: <victim's id>, token: <attacker's token>}` must not pull a
 * victim's identified browser into the attacker's contact, nor let the attacker read the
 * victim's browsing through it. (What a visitor id alone gives is in docs/security.md.)
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ORIGIN, securityApp, shopConfig } from './setup.ts';

let t: Awaited<ReturnType<typeof securityApp>>;
beforeEach(async () => {
  t = await securityApp(shopConfig());
});
afterEach(() => t.close());

const contactSegment = async (id: string) => {
  const res = await t.api(`/v1/contacts/${id}/segment?site=shop`);
  return {
    status: res.status,
    body: (await res.json()) as { affinity: Record<string, number>; count?: number },
  };
};

describe('device hijack', () => {
  it("an attacker's token does not move a victim's linked browser into the attacker's contact", async () => {
    // The victim follows their own email link and browses cameras.
    const victimToken = await t.click(await t.link('victim'));
    expect((await t.collect('victim-laptop', { token: victimToken })).body.segment!.known).toBe(
      true,
    );
    // The attacker, with their own link and the victim's browser id.
    const attackerToken = await t.click(
      await t.link('attacker', { to: `${ORIGIN}/garden/`, category: 'garden' }),
    );
    const garden = [{ url: `${ORIGIN}/garden/rake`, category: 'garden' }];
    await t.collect('attacker-phone', { token: attackerToken, events: garden });
    const hijack = await t.collect('victim-laptop', { token: attackerToken, events: garden });
    expect(hijack.status).toBe(200);
    expect(hijack.body.identify).toMatchObject({ ok: false, error: 'linked_elsewhere' });
    expect((await t.storage.identity.linkOf('shop', 'victim-laptop'))!.contact).toBe('victim');

    // The victim keeps browsing; none of it reaches the attacker's contact or the attacker's browser.
    for (let i = 0; i < 3; i++)
      await t.collect('victim-laptop', { events: [{ url: `${ORIGIN}/cameras/m${i}` }] });
    const attacker = await contactSegment('attacker');
    expect(Object.keys(attacker.body.affinity)).toEqual(['garden']);
    expect(Object.keys((await t.segment('attacker-phone')).affinity)).toEqual(['garden']);
    expect(Object.keys((await contactSegment('victim')).body.affinity).sort()).toEqual([
      'cameras',
      'garden',
    ]);
  });
});
