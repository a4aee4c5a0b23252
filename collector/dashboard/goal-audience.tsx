/**
 * The buckets of a goal's page: how many of the site's current visitors are most, moderately and
 * least likely to reach the goal and how many are expected to (`goalAudience`, the count of
 * `GET /v1/goals/:name/audience`), narrowed by a plain GET form — a custom segment of the site and
 * one trait `name = value` — so "how many New York visitors will buy tickets" is one submit,
 * without JavaScript. Beside it, how the model's buckets did on the holdout of its training.
 */
import { LIMITS } from '../../shared/limits.ts';
import { INTENTS } from '../../shared/segment.ts';
import type { Audience, AudienceFilter } from '../goals/audience.ts';
import type { BucketFigures, Thresholds } from '../goals/train.ts';
import { fixed, fmt, label, pct, share } from './format.ts';
import { FigureTable } from './table.tsx';

/** The filter form's fields as sent (empty: not asked). */
export interface AudienceQuery {
  segment: string;
  trait: string;
  value: string;
}

const TRAIT_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

/**
 * The form's fields as a `goalAudience` filter, or why not: the segment must be one of the site's
 * custom segments (the select offers only those), a trait needs both a name and a value.
 */
export function audienceFilter(
  q: AudienceQuery,
  segments: readonly string[],
): { filter: AudienceFilter } | { problem: string } {
  const filter: AudienceFilter = {};
  if (q.segment !== '') {
    if (!segments.includes(q.segment))
      return { problem: `This site has no custom segment "${q.segment}".` };
    filter.segment = q.segment;
  }
  const name = q.trait.trim();
  const value = q.value.trim();
  if (name !== '' || value !== '') {
    if (name === '' || value === '')
      return { problem: 'A trait filter needs both a name and a value (e.g. region = NY).' };
    if (name.length > LIMITS.propKeyLength || !TRAIT_NAME.test(name))
      return {
        problem: `"${name}" is not a trait name: a letter, then letters, digits and _ (at most ${LIMITS.propKeyLength}).`,
      };
    if (value.length > LIMITS.propValueLength)
      return { problem: `A trait value is at most ${LIMITS.propValueLength} characters.` };
    filter.traits = { [name]: value };
  }
  return { filter };
}

/** "current visitors in segment ny-fans with region = NY" (or "current visitors"). */
export function filterText(f: AudienceFilter): string {
  const parts: string[] = [];
  if (f.segment) parts.push(`in segment ${f.segment}`);
  for (const [k, v] of Object.entries(f.traits ?? {})) parts.push(`with ${k} = ${v}`);
  return parts.length === 0 ? 'current visitors' : `current visitors ${parts.join(' ')}`;
}

export function AudienceSection(props: {
  site: string;
  goal: string;
  within: string;
  query: AudienceQuery;
  segments: readonly string[];
  filter: AudienceFilter | null;
  problem: string | null;
  audience: Audience | null;
  holdout: { buckets: BucketFigures; thresholds: Thresholds } | null;
}) {
  const { query, audience: a } = props;
  return (
    <section class="card" aria-labelledby="buckets-h">
      <h2 id="buckets-h">Buckets</h2>
      <p class="note">
        How many of the site's visitors now are most, moderately and least likely to reach the goal
        within {props.within}, as their segment answers say (<code>goals</code>), and how many are
        expected to reach it (the sum of their probabilities).
      </p>
      <form
        method="get"
        action={`/dashboard/goals/${encodeURIComponent(props.goal)}`}
        class="audience-filter"
      >
        <input type="hidden" name="site" value={props.site} />
        <p class="field">
          <label for="aud-segment">Segment</label>
          <select id="aud-segment" name="segment">
            <option value="" selected={query.segment === ''}>
              All visitors
            </option>
            {props.segments.map((s) => (
              <option value={s} selected={s === query.segment}>
                {s}
              </option>
            ))}
          </select>
        </p>
        <p class="field">
          <label for="aud-trait">Trait</label>
          <input
            type="text"
            id="aud-trait"
            name="trait"
            value={query.trait}
            maxlength={LIMITS.propKeyLength}
            placeholder="region"
          />
        </p>
        <p class="field">
          <label for="aud-value">equals</label>
          <input
            type="text"
            id="aud-value"
            name="value"
            value={query.value}
            maxlength={LIMITS.propValueLength}
            placeholder="NY"
          />
        </p>
        <p class="field">
          <button type="submit">Count</button>
        </p>
      </form>
      {props.problem ? (
        <p role="alert" class="error">
          {props.problem}
        </p>
      ) : null}
      {a && props.filter ? (
        <>
          <p class="audience-sentence" id="audience-sentence">
            {a.partial ? 'At least ' : ''}
            <strong data-figure="audience-total">{fmt(a.total)}</strong> {filterText(props.filter)}
            {a.expected === null ? (
              <>: the intent heuristic serves this goal, so there is no probability to add up.</>
            ) : (
              <>
                , of whom <strong data-figure="audience-expected">{fixed(a.expected, 1)}</strong>{' '}
                are expected to reach the goal within {props.within}.
              </>
            )}
          </p>
          <FigureTable
            id="audience"
            caption="Visitors by bucket"
            cols={['Bucket', { label: 'Visitors', num: true }, { label: 'Share', num: true }]}
          >
            {INTENTS.map((i) => (
              <tr data-bucket={i}>
                <th scope="row">{label(i)}</th>
                <td class="num count">{fmt(a.buckets[i])}</td>
                <td class="num">{pct(a.buckets[i], a.total)}</td>
              </tr>
            ))}
          </FigureTable>
          <p class="note">
            {a.source === 'model' ? 'Buckets by the model.' : 'Buckets by the intent heuristic.'}{' '}
            {fmt(a.scanned)} profiles looked at in {fmt(a.tookMs)} ms
            {a.partial ? '; the count stopped at its bound, so these are lower bounds' : ''}.
          </p>
        </>
      ) : null}
      {props.holdout ? (
        <FigureTable
          id="holdout-buckets"
          caption="The buckets on the holdout"
          cols={[
            'Bucket',
            { label: 'From p', num: true },
            { label: 'Examples', num: true, wideOnly: true },
            { label: 'Reached', num: true },
          ]}
        >
          {INTENTS.map((i) => {
            const b = props.holdout?.buckets[i];
            const t = props.holdout?.thresholds;
            const from =
              i === 'most_likely' ? t?.most : i === 'moderately_likely' ? t?.moderate : 0;
            return (
              <tr data-holdout-bucket={i}>
                <th scope="row">{label(i)}</th>
                <td class="num">{share(from)}</td>
                <td class="num wide-only">{fmt(b?.n)}</td>
                <td class="num">{share(b?.rate)}</td>
              </tr>
            );
          })}
        </FigureTable>
      ) : null}
    </section>
  );
}
