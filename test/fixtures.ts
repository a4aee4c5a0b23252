/** Shared test data: the `Segment` of DESIGN.md's example, varied per test. */
import type { Segment } from '../shared/segment.ts';

export const SAMPLE_SEGMENT: Segment = {
  site: 'demo',
  visitor: 'v1',
  known: false,
  segment: 'newbie:cameras:hot',
  lifecycle: 'newbie',
  category: 'cameras',
  engagement: 'hot',
  affinity: { cameras: 0.72, sports: 0.28 },
  cooldown: false,
  rfm: null,
  intent: 'moderately_likely',
  segments: ['camera-intent'],
  updated: 1732262400000,
};

export const segmentWith = (over: Partial<Segment> = {}): Segment => ({
  ...SAMPLE_SEGMENT,
  ...over,
});
