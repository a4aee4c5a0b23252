/**
 * Issue 12, defect 13: a browser trait named `__proto__` was dropped without a word (the batch's
 * zod record drops the key) while `constructor` was refused. Now every reserved name is refused
 * the same way, with the name and the reason, wherever traits arrive.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows } from '../support/backend.ts';
import { API_KEY, collector, event, type Collector } from './support.ts';

const RESERVED = ['__proto__', 'constructor', 'prototype'];
/** A JSON object with one own key `name` (JSON.stringify would not write a `__proto__` key). */
const traitsText = (name: string) => `{${JSON.stringify(name)}:"pro","plan":"basic"}`;

let c: Collector;
beforeAll(async () => {
  const shop = {
    allowLocalhost: true,
    allowAutomation: true,
    apiKeys: [API_KEY],
    publicTraits: ['plan'],
  };
  c = await collector({ sites: { shop } });
});
afterAll(() => c.close());

describe('reserved trait names', () => {
  for (const name of RESERVED) {
    it(`refuses "${name}" from the browser, naming it`, async () => {
      const valid = event();
      const events = JSON.stringify([valid]);
      const body = `{"site":"shop","visitor":"tn_${name.length}","events":${events},"traits":${traitsText(name)}}`;
      const res = await c.http('POST', '/v1/collect', body);
      expect(res.status).toBe(400);
      expect(res.json()).toEqual({
        error: 'invalid_traits',
        message: `traits.${name}: reserved name`,
      });
    });

    it(`refuses "${name}" on PUT /v1/contacts/:id/traits, naming it`, async () => {
      const res = await c.api('PUT', '/v1/contacts/tn-contact/traits?site=shop', traitsText(name));
      expect(res.status).toBe(400);
      expect(res.json()).toEqual({ error: 'invalid_traits', message: `${name}: reserved name` });
    });

    it(`refuses "${name}" in a server event's traits, naming it`, async () => {
      const item = `{"site":"shop","contact":"tn-contact","type":"page_view","traits":${traitsText(name)}}`;
      const body = `{"events":[${item}]}`;
      const res = await c.api('POST', '/v1/events', body);
      expect(res.status).toBe(400);
      const message = `traits.${name}: reserved name`;
      expect(res.json().refused).toEqual([{ index: 0, error: 'invalid_event', message }]);
    });
  }

  it('stores no trait of a refused patch', async () => {
    // Every stored traits row, whoever it is of: a trait in any is a failure.
    const stored = await rows<{ traits: string }>(
      c.running.storage,
      `select traits from profile_meta`,
    );
    for (const t of stored) expect(JSON.parse(t.traits)).not.toHaveProperty('plan');
  });
});
