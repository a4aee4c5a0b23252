/** `microseg/client` against a real collector over HTTP (sdk/client.ts). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, emptySegment, MicrosegError } from '../../sdk/client.ts';
import { KEY, listen, listeningCollector, SITE } from './support.ts';

type Collector = Awaited<ReturnType<typeof listeningCollector>>;
let collector: Collector;

beforeAll(async () => {
  collector = await listeningCollector();
});
afterAll(() => collector.close());

const cameraViews = (visitor: string, n = 3) =>
  Array.from({ length: n }, (_, i) => ({
    visitor,
    type: 'page_view',
    url: `https://shop.example/cameras/${i}`,
    category: 'cameras',
  }));

/** A fetch that counts its calls and the statuses it saw, optionally held up first. */
function countingFetch(delayMs = 0) {
  const seen: number[] = [];
  const f: typeof fetch = async (input, init) => {
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    const res = await fetch(input, init);
    seen.push(res.status);
    return res;
  };
  return { fetch: f, seen };
}

describe('segment reads', () => {
  it("answers a never-seen visitor as the collector does: emptySegment is the collector's first-visit answer", async () => {
    const client = createClient({ endpoint: collector.url, site: SITE, timeoutMs: 2000 });
    const read = await client.readSegment('never_seen_1');
    expect(read.source).toBe('collector');
    expect(read.segment).toEqual({
      ...emptySegment(SITE, 'never_seen_1'),
      updated: read.segment.updated,
    });
  });

  it('reads the segment server events made, with the page facts, then from the cache', async () => {
    const { fetch, seen } = countingFetch();
    const client = createClient({
      endpoint: `${collector.url}/`,
      site: SITE,
      apiKey: KEY,
      timeoutMs: 2000,
      fetch,
    });
    const track = await client.track(cameraViews('v_cams'));
    expect(track).toMatchObject({ accepted: 3, duplicates: 0, refused: [] });
    const first = await client.readSegment('v_cams');
    expect(first.source).toBe('collector');
    expect(first.segment.category).toBe('cameras');
    expect(first.segment.dataset.msCategory).toBe('cameras');
    expect(first.segment.facts).toContain('category=cameras');
    const requests = seen.length;
    const second = await client.readSegment('v_cams');
    expect(second).toEqual({ segment: first.segment, source: 'cache' });
    expect(seen.length).toBe(requests);
  });

  it('never waits past its budget: a slow collector gets an empty segment, and its late answer serves the next read', async () => {
    const slow = countingFetch(600);
    const errors: MicrosegError[] = [];
    const client = createClient({
      endpoint: collector.url,
      site: SITE,
      apiKey: KEY,
      timeoutMs: 30,
      fetch: slow.fetch,
      onError: (e) => errors.push(e),
    });
    await createClient({ endpoint: collector.url, site: SITE, apiKey: KEY }).track(
      cameraViews('v_slow'),
    );
    const t0 = performance.now();
    const read = await client.readSegment('v_slow');
    const took = performance.now() - t0;
    expect(read).toEqual({ segment: emptySegment(SITE, 'v_slow'), source: 'empty' });
    // The budget is 30 ms; the collector takes 600. A loaded CI machine gets slack, not 600.
    expect(took).toBeLessThan(300);
    // The request went on: once it is answered, the next read has the segment without asking.
    await expect.poll(() => slow.seen.length, { timeout: 3000 }).toBe(1);
    const next = await client.readSegment('v_slow');
    expect(next.source).toBe('cache');
    expect(next.segment.category).toBe('cameras');
    expect(errors).toEqual([]);
  });

  it('answers a stale segment at once and refreshes it behind (a 304 when nothing changed)', async () => {
    const counted = countingFetch();
    const client = createClient({
      endpoint: collector.url,
      site: SITE,
      apiKey: KEY,
      timeoutMs: 2000,
      freshMs: 0,
      fetch: counted.fetch,
    });
    const first = await client.readSegment('v_swr');
    expect(first.segment.category).toBeNull();
    await client.track(cameraViews('v_swr'));
    // Stale: the old segment now, the new one asked for.
    const second = await client.readSegment('v_swr');
    expect(second).toEqual({ segment: first.segment, source: 'stale' });
    await expect.poll(() => counted.seen.length).toBe(3);
    const third = await client.readSegment('v_swr');
    expect(third.source).toBe('stale');
    expect(third.segment.category).toBe('cameras');
    // Nothing changed since: the refresh is a 304, the cached segment stays.
    await expect.poll(() => counted.seen.length).toBe(4);
    expect(counted.seen).toEqual([200, 200, 200, 304]);
    expect((await client.readSegment('v_swr')).segment).toEqual(third.segment);
  });

  it('asks again for a segment older than maxStaleMs (a visitor back after a while), answering the old one only when none comes in time', async () => {
    let delayMs = 0;
    const counted = countingFetch();
    const held: typeof fetch = async (input, init) => {
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      return counted.fetch(input, init);
    };
    const client = createClient({
      endpoint: collector.url,
      site: SITE,
      apiKey: KEY,
      timeoutMs: 1000,
      freshMs: 0,
      maxStaleMs: 0,
      fetch: held,
    });
    const before = await client.segment('v_back');
    expect(before.category).toBeNull();
    await client.track(cameraViews('v_back'));
    // Not the old segment at once: the read waits for the collector's new answer.
    const back = await client.readSegment('v_back');
    expect(back.source).toBe('collector');
    expect(back.segment.category).toBe('cameras');
    // A collector slower than the budget: the old segment, not an empty one.
    delayMs = 1500;
    const slow = createClient({
      endpoint: collector.url,
      site: SITE,
      timeoutMs: 30,
      freshMs: 0,
      maxStaleMs: 0,
      fetch: held,
    });
    delayMs = 0;
    const known = await slow.segment('v_back');
    delayMs = 1500;
    expect(await slow.readSegment('v_back')).toEqual({ segment: known, source: 'stale' });
  });

  it('falls back to the last known segment, then to an empty one, when the collector is down', async () => {
    const down = await listen(() => new Response(null, { status: 200 }));
    const endpoint = down.url;
    await down.close();
    const errors: MicrosegError[] = [];
    const client = createClient({
      endpoint,
      site: SITE,
      timeoutMs: 2000,
      onError: (e) => errors.push(e),
    });
    const read = await client.readSegment('v_down');
    expect(read.source).toBe('empty');
    expect(read.error).toBeInstanceOf(MicrosegError);
    expect(read.error).toMatchObject({ status: 0, reason: 'network' });
    expect(errors).toHaveLength(1);

    // A segment read before the collector went away is answered, however old.
    let up = true;
    const flaky: typeof fetch = (input, init) =>
      up ? fetch(input, init) : Promise.reject(new TypeError('fetch failed'));
    const c2 = createClient({
      endpoint: collector.url,
      site: SITE,
      timeoutMs: 2000,
      freshMs: 0,
      fetch: flaky,
      onError: (e) => errors.push(e),
    });
    const known = await c2.segment('v_flaky');
    up = false;
    expect(await c2.readSegment('v_flaky')).toEqual({ segment: known, source: 'stale' });
    await expect.poll(() => errors.length).toBe(2);
    expect(errors[1]).toMatchObject({ status: 0, reason: 'network' });
  });

  it('asks once for a visitor whose request is already under way', async () => {
    const slow = countingFetch(100);
    const client = createClient({
      endpoint: collector.url,
      site: SITE,
      timeoutMs: 2000,
      fetch: slow.fetch,
    });
    const reads = await Promise.all([1, 2, 3].map(() => client.readSegment('v_once')));
    expect(reads.map((r) => r.source)).toEqual(['collector', 'collector', 'collector']);
    expect(slow.seen).toEqual([200]);
  });

  it('answers an empty segment for an id the collector would refuse, without asking it', async () => {
    const counted = countingFetch();
    const client = createClient({ endpoint: collector.url, site: SITE, fetch: counted.fetch });
    const read = await client.readSegment('not an id');
    expect(read.source).toBe('empty');
    expect(read.error?.reason).toBe('invalid_visitor');
    expect(counted.seen).toEqual([]);
  });

  it('keeps at most cacheSize segments, dropping the least recently read', async () => {
    const counted = countingFetch();
    const client = createClient({
      endpoint: collector.url,
      site: SITE,
      timeoutMs: 2000,
      cacheSize: 2,
      fetch: counted.fetch,
    });
    await client.segment('lru_a');
    await client.segment('lru_b');
    await client.segment('lru_a'); // cached; now the most recent
    await client.segment('lru_c'); // evicts lru_b
    expect(counted.seen).toHaveLength(3);
    expect((await client.readSegment('lru_a')).source).toBe('cache');
    expect((await client.readSegment('lru_b')).source).toBe('collector');
  });
});

describe('API-key calls', () => {
  const client = () =>
    createClient({ endpoint: collector.url, site: SITE, apiKey: KEY, timeoutMs: 2000 });

  it('throws a MicrosegError with the status and reason of a refusal', async () => {
    const noKey = createClient({ endpoint: collector.url, site: SITE });
    await expect(noKey.track({ visitor: 'v1', type: 'purchase' })).rejects.toMatchObject({
      name: 'MicrosegError',
      status: 0,
      reason: 'no_api_key',
    });
    const wrong = createClient({ endpoint: collector.url, site: SITE, apiKey: 'wrong-key-000000' });
    const err = await wrong.contactSegment('ann@example.com').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MicrosegError);
    expect(err).toMatchObject({ status: 401, reason: 'unauthorized' });
    await expect(client().setTraits('ann', { 'bad key!': 1 })).rejects.toMatchObject({
      status: 400,
      reason: 'invalid_traits',
    });
  });

  it('track: ids are made once, so a batch sent again after a lost answer counts once', async () => {
    let calls = 0;
    // The first answer is lost after the collector stored the batch; the client sends it again.
    const losing: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (++calls === 1) throw new TypeError('fetch failed');
      return res;
    };
    const c = createClient({ endpoint: collector.url, site: SITE, apiKey: KEY, fetch: losing });
    const r = await c.track([
      { visitor: 'v_retry', type: 'purchase', value: 10, currency: 'EUR' },
      { visitor: 'v_retry', type: 'purchase', value: 10, currency: 'EUR' },
    ]);
    expect(calls).toBe(2);
    expect(r).toMatchObject({ accepted: 0, duplicates: 2, refused: [] });
    expect(r.ids[0]).not.toBe(r.ids[1]);
    // Each stored once: two purchases, not four.
    const stored = await collector.storage.dashboard.timeline(SITE, { visitor: 'v_retry' }, 10);
    expect(stored).toHaveLength(2);
  });

  it('track: a refusal per event, by its index across batches of the collector limit', async () => {
    const events = Array.from({ length: 1001 }, (_, i) => ({
      visitor: 'v_many',
      type: i === 1000 ? '' : 'page_view',
    }));
    const r = await client().track(events);
    expect(r.accepted).toBe(1000);
    expect(r.refused).toHaveLength(1);
    expect(r.refused[0]?.index).toBe(1000);
    expect(r.ids).toHaveLength(1001);
    expect(r.ids[1000]).toBeNull();
    // A batch of refusals only is an answer too.
    const none = await client().track({ visitor: 'v_many', type: '' });
    expect(none).toMatchObject({ accepted: 0, duplicates: 0, refused: [{ index: 0 }] });
  });

  it('contactSegment, setTraits, links and forget map onto the API', async () => {
    const c = client();
    expect(await c.contactSegment('ann')).toBeNull();
    const set = await c.setTraits('ann', { plan: 'pro' });
    expect(set).toMatchObject({ site: SITE, contact: 'ann', traits: { plan: 'pro' } });
    const seg = await c.contactSegment('ann');
    expect(seg).toMatchObject({ contact: 'ann', traits: { plan: 'pro' }, lifecycle: 'newbie' });

    const links = await c.links([
      { contact: 'ann', to: 'https://shop.example/cameras/' },
      { contact: 'ann', to: 'not a url' },
    ]);
    expect(links.links[0]).toMatchObject({ index: 0, url: expect.stringContaining('/r?') });
    expect(links.links[1]).toMatchObject({ index: 1, error: expect.any(String) });
    const plain = await c.links([{ contact: 'ann', to: 'https://shop.example/' }], { plain: true });
    expect(plain.links[0]).toMatchObject({
      url: expect.stringMatching(/^https:\/\/shop\.example\//),
    });

    await c.track(cameraViews('v_forget'));
    await c.segment('v_forget');
    const gone = await c.forget({ visitor: 'v_forget' });
    expect(gone.total).toBeGreaterThan(0);
    expect(gone.visitors).toContain('v_forget');
    // Dropped from the cache: the next read asks the collector, which knows nothing now.
    const after = await c.readSegment('v_forget');
    expect(after.source).toBe('collector');
    expect(after.segment.category).toBeNull();
    const contact = await c.forget({ contact: 'ann' });
    expect(contact.contact).toBe('ann');
    expect(await c.contactSegment('ann')).toBeNull();
  });
});

describe("a site's server past the browsers' per-address limit", () => {
  it('with the apiKey its segment reads are not 429 where keyless reads from the same address are', async () => {
    const limited = await listeningCollector({
      ipPerMinute: 3,
      visitorPerMinute: 0,
      trustProxy: 0,
    });
    try {
      const read = (client: ReturnType<typeof createClient>, i: number) =>
        client.readSegment(`busy_${i}`);
      const keyless = createClient({ endpoint: limited.url, site: SITE, timeoutMs: 2000 });
      const errors: MicrosegError[] = [];
      const withKey = createClient({
        endpoint: limited.url,
        site: SITE,
        apiKey: KEY,
        timeoutMs: 2000,
        onError: (e) => errors.push(e),
      });
      for (let i = 0; i < 10; i++) expect((await read(withKey, i)).source).toBe('collector');
      expect(errors).toEqual([]);
      const sources = [];
      for (let i = 10; i < 15; i++) sources.push((await read(keyless, i)).source);
      expect(sources.slice(0, 3)).toEqual(['collector', 'collector', 'collector']);
      expect(sources.slice(3)).toEqual(['empty', 'empty']);
    } finally {
      await limited.close();
    }
  });
});
