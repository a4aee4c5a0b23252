// The page facts a browser answer carries (`PageFacts`, shared/segment.ts): the `<html>` attributes
// and the rule facts, ready-made so the snippet only applies them.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pageFacts } from '../../shared/segment.ts';
import { SAMPLE_SEGMENT, segmentWith } from '../fixtures.ts';
import { collectRequest, ev, testApp } from '../helpers.ts';

describe('pageFacts', () => {
  it('writes the <html> attributes and the rule facts of a segment', () => {
    expect(pageFacts({ ...SAMPLE_SEGMENT, segments: ['camera-intent'] })).toEqual({
      dataset: {
        msLifecycle: 'newbie',
        msCategory: 'cameras',
        msEngagement: 'hot',
        msSegment: 'newbie:cameras:hot',
        msIntent: 'moderately_likely',
        msKnown: 'false',
        msCooldown: 'false',
      },
      facts: [
        'lifecycle=newbie',
        'category=cameras',
        'engagement=hot',
        'segment=newbie:cameras:hot',
        'intent=moderately_likely',
        'known=false',
        'cooldown=false',
        'segment=camera-intent',
        'camera-intent',
      ],
    });
  });

  it('reads no categorized activity as category=none, as the segment key does', () => {
    const { dataset, facts } = pageFacts(
      segmentWith({ category: null, segment: 'newbie:none:cold', segments: [] }),
    );
    expect(dataset.msCategory).toBe('none');
    expect(facts).toContain('category=none');
    expect(facts).toContain('segment=newbie:none:cold');
  });
});

describe('browser answers carry the page facts of what the browser may see', () => {
  let t: Awaited<ReturnType<typeof testApp>>;
  beforeEach(async () => {
    t = await testApp({
      config: {
        sites: {
          demo: {
            allowLocalhost: true,
            rules: { 'camera-fans': { when: { fact: 'affinity.cameras', gte: 0.5 } } },
          },
        },
      },
    });
  });
  afterEach(() => t.close());

  it('in the collect answer and in GET /v1/segment, equal to pageFacts of the public fields', async () => {
    const batch = { site: 'demo', visitor: 'v1', events: [ev({ category: 'cameras' })] };
    const res = await t.app.request(collectRequest(batch));
    const { segment } = (await res.json()) as any;
    const { dataset, facts, ...pub } = segment;
    expect({ dataset, facts }).toEqual(pageFacts(pub));
    expect(facts).toContain('camera-fans');
    expect(facts).toContain('segment=camera-fans');
    expect(dataset.msCategory).toBe('cameras');
    const read = (await (await t.app.request('/v1/segment?site=demo&visitor=v1')).json()) as any;
    expect(read.facts).toEqual(facts);
    expect(read.dataset).toEqual(dataset);
  });
});
