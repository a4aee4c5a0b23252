import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../collector/cli/cli.ts';
import { collectRequest, ev, testApp } from '../helpers.ts';
import { sqliteHandle } from '../../collector/storage/sqlite/index.ts';

describe('microseg CLI', () => {
  let out: string[];
  let err: string[];
  beforeEach(() => {
    out = [];
    err = [];
    vi.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' ')));
    vi.spyOn(console, 'error').mockImplementation((...a) => void err.push(a.join(' ')));
  });
  afterEach(() => vi.restoreAllMocks());

  it('prints help for itself and for every command', async () => {
    expect(await main(['--help'])).toBe(0);
    const names = [...out.join('\n').matchAll(/^ {2}([a-z]+) {2}/gm)].map((m) => m[1]!);
    expect(names).toEqual(
      expect.arrayContaining(['serve', 'link', 'export', 'forget', 'deliveries', 'quarantine']),
    );
    for (const name of names) {
      out = [];
      expect(await main([name, '--help'])).toBe(0);
      expect(out.join('\n')).toContain(`microseg ${name}`);
    }
  });

  it('refuses an unknown command or option with exit code 2', async () => {
    expect(await main(['nope'])).toBe(2);
    expect(err.join('\n')).toContain('unknown command');
    expect(await main(['serve', '--bogus'])).toBe(2);
    expect(await main(['quarantine'])).toBe(2);
    expect(err.join('\n')).toContain('--site is required');
  });

  it('quarantine lists refused events newest first, as text or JSON', async () => {
    const t = await testApp();
    try {
      await t.app.request(
        collectRequest({
          site: 'demo',
          visitor: 'v1',
          events: [ev(), { id: 'bad1', type: 7 }, { id: 'bad2' }],
        }),
      );
      const db = sqliteHandle(t.storage).name;
      expect(await main(['quarantine', '--site', 'demo', '--db', db])).toBe(0);
      const text = out.join('\n');
      expect(text.indexOf('event=bad2')).toBeLessThan(text.indexOf('event=bad1'));
      expect(text).toContain('invalid_event');
      out = [];
      expect(
        await main(['quarantine', '--site', 'demo', '--db', db, '--json', '--limit', '1']),
      ).toBe(0);
      expect(out).toHaveLength(1);
      expect(JSON.parse(out[0]!)).toMatchObject({
        site: 'demo',
        eventId: 'bad2',
        error: 'invalid_event',
        payload: '{"id":"bad2"}',
      });
      out = [];
      // Another site of the same file has none (a missing file is refused: cli-newcomer.test.ts).
      expect(await main(['quarantine', '--site', 'other', '--db', db])).toBe(0);
      expect(out.join('\n')).toContain('no refused events');
    } finally {
      await t.close();
    }
  });
});
