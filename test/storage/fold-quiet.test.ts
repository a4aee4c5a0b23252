/**
 * The backfill's quiet segments (issue 18): the time-driven refresh records a quiet rule's entry
 * and exit in the history and the stored membership, but the change the listeners (webhooks) hear
 * has no transition of it; the other changes of the same profile are heard as before.
 */
import { describe, expect, it } from 'vitest';
import { settleRefresh } from '../../collector/storage/fold.ts';
import { build, e, T0, withRules } from '../engine/fixtures.ts';

const rules = {
  cam: { count: { category: 'cameras', within: '7d' }, gte: 1 },
  any: { count: { within: '7d' }, gte: 1 },
};

describe('settleRefresh with quiet segments', () => {
  const cfg = withRules(rules);
  const profile = build([e({ ts: T0, category: 'cameras' })], cfg);
  const before = { key: 'newbie:cameras:active', segments: ['old'] };

  it('records every change, and tells the listeners none of the quiet ones', () => {
    const loud = settleRefresh('s', 'v', profile, before, cfg, T0 + 1, undefined, null);
    const quiet = settleRefresh(
      's',
      'v',
      profile,
      before,
      { ...cfg, quiet: ['cam', 'old'] },
      T0 + 1,
      undefined,
      null,
    );
    const kinds = (cs: { kind: string; name: string }[] | undefined) =>
      cs?.map((c) => `${c.kind}:${c.name}`).sort();
    expect(kinds(loud?.changes)).toEqual(['entered:any', 'entered:cam', 'exited:old']);
    // The history and the stored membership: the same.
    expect(kinds(quiet?.changes)).toEqual(kinds(loud?.changes));
    expect(quiet?.segment.segments).toEqual(['cam', 'any']);
    // The listeners: only `any`, and `before` shows the quiet ones as they are now.
    expect(kinds(quiet?.change.changes)).toEqual(['entered:any']);
    expect(quiet?.change.before.segments.sort()).toEqual(['cam']);
  });

  it('a change of quiet segments only is heard as no change', () => {
    const now = { key: 'newbie:cameras:active', segments: ['any'] };
    const quiet = settleRefresh(
      's',
      'v',
      profile,
      now,
      { ...cfg, quiet: ['cam'] },
      T0 + 1,
      undefined,
      null,
    );
    expect(quiet?.changes.map((c) => c.name)).toEqual(['cam']);
    expect(quiet?.change.changes).toEqual([]);
  });
});
