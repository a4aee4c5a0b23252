/** Hostile and random payloads for the ingest endpoints, from a seeded generator (reproducible). */
import { LIMITS } from '../../shared/limits.ts';

export function prng(seed: number) {
  let s = seed >>> 0;
  return () => {
    // mulberry32
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HOSTILE_STRINGS = [
  "'; DROP TABLE events; --",
  '" OR 1=1 --',
  "Robert'); DELETE FROM profiles WHERE ('1'='1",
  '__proto__',
  'constructor',
  '<script>alert(1)</script>',
  '\u0000\u0001\u0002',
  '\ud800',
  '🙂'.repeat(40),
  '../../etc/passwd',
  '%00%ff',
  'x'.repeat(LIMITS.urlLength + 1),
];

export function fuzzPayloads(rand: () => number, n: number): (string | Uint8Array<ArrayBuffer>)[] {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)]!;
  const randomValue = (depth: number): unknown => {
    const r = rand();
    if (depth > 3 || r < 0.2)
      return pick([null, true, false, 0, -1, 1e308, -0, 3.14, '', 'x', pick(HOSTILE_STRINGS)]);
    if (r < 0.4)
      return Array.from({ length: Math.floor(rand() * 4) }, () => randomValue(depth + 1));
    const o: Record<string, unknown> = {};
    for (let i = 0; i < Math.floor(rand() * 5); i++)
      o[
        pick([
          'site',
          'visitor',
          'events',
          'id',
          'type',
          'ts',
          '__proto__',
          'constructor',
          'props',
          'x',
        ])
      ] = randomValue(depth + 1);
    return o;
  };
  const event = (): Record<string, unknown> => ({
    id: rand() < 0.9 ? `f${Math.floor(rand() * 1e9)}` : pick(HOSTILE_STRINGS),
    type: rand() < 0.8 ? pick(['page_view', 'click', 'purchase']) : pick(HOSTILE_STRINGS),
    ts: rand() < 0.8 ? Date.now() : pick(['now', -5, 1e20, NaN, null, {}]),
    ...(rand() < 0.5 ? { category: rand() < 0.7 ? 'cameras' : pick(HOSTILE_STRINGS) } : {}),
    ...(rand() < 0.3
      ? { props: rand() < 0.5 ? { a: pick(HOSTILE_STRINGS) } : randomValue(0) }
      : {}),
    ...(rand() < 0.2 ? { value: pick([1, 'ten', Infinity, -1, null]) } : {}),
    ...(rand() < 0.1 ? { [pick(['__proto__', 'constructor', 'admin'])]: { polluted: true } } : {}),
  });
  const out: (string | Uint8Array<ArrayBuffer>)[] = [];
  for (let i = 0; i < n; i++) {
    const kind = Math.floor(rand() * 8);
    switch (kind) {
      case 0:
        out.push(JSON.stringify(randomValue(0)));
        break;
      case 1: {
        // Deep nesting.
        const depth = 1000 + Math.floor(rand() * 20000);
        out.push('['.repeat(depth) + ']'.repeat(depth));
        break;
      }
      case 2: {
        // Invalid UTF-8 inside an otherwise valid batch.
        const head = Buffer.from(
          `{"site":"demo","visitor":"v${i}","events":[{"id":"u${i}","type":"page_view","ts":${Date.now()},"category":"`,
        );
        out.push(
          new Uint8Array(
            Buffer.concat([head, Buffer.from([0xff, 0xfe, 0xc3, 0x28]), Buffer.from('"}]}')]),
          ),
        );
        break;
      }
      case 3:
        out.push(
          JSON.stringify({
            site: 'demo',
            visitor: `v${i}`,
            events: Array.from({ length: 1 + Math.floor(rand() * 5) }, event),
          }),
        );
        break;
      case 4:
        out.push(
          `{"site":"demo","visitor":"v${i}","__proto__":{"polluted":true},"events":[${JSON.stringify(event())}]}`,
        );
        break;
      case 5:
        out.push(
          JSON.stringify({
            site: pick(['demo', 'nope', 7, null]),
            visitor: pick(['v1', '', 'a b', 'x'.repeat(70), 5]),
            events: pick([[], 'x', {}, [event()]]),
          }),
        );
        break;
      case 6:
        // Truncated JSON.
        out.push(
          JSON.stringify({ site: 'demo', visitor: 'v1', events: [event()] }).slice(
            0,
            Math.floor(rand() * 40),
          ),
        );
        break;
      default:
        out.push(pick(HOSTILE_STRINGS));
    }
  }
  return out;
}
