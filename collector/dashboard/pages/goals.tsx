/**
 * The Goals page (`/dashboard/goals`, issue 20): each goal of the site — the config file's
 * (read-only) and those saved through `/v1/goals` — with its definition, what serves its
 * probability (a model, or the intent heuristic and why) and the model's holdout figures, the
 * same `modelView` as `GET /v1/goals/:name/model`; one goal in full (`/dashboard/goals/:name`):
 * its buckets now (goal-audience.tsx: `goalAudience`, filtered by a GET form), the calibration
 * deciles with a small chart, the strongest features, how the intent heuristic did on the same
 * holdout; and **Train now** (a CSRF-checked POST), which runs the trainer
 * (goals/trainer.ts) with its own bounds and answers 303 back to the goal with a notice.
 */
import { type Context, Hono } from 'hono';
import { DASHBOARD, GOAL_LIMITS } from '../../../shared/limits.ts';
import { INTENTS } from '../../../shared/segment.ts';
import type { SiteConfig } from '../../config/config.ts';
import {
  type Audience,
  AudienceBusy,
  type AudienceFilter,
  goalAudience,
  UnknownGoal,
  UnknownSegment,
} from '../../goals/audience.ts';
import { findGoal, type GoalView, goalOf, listGoals } from '../../goals/catalog.ts';
import { goalKey } from '../../goals/goal.ts';
import { type ModelView, modelView } from '../../goals/model-view.ts';
import type { TrainingReport } from '../../goals/train.ts';
import {
  type StoredReport,
  TrainingBusy,
  TrainingTimeout,
  trainGoal,
} from '../../goals/trainer.ts';
import type { Deps } from '../../http/app.ts';
import { CalibrationChart } from '../calibration-chart.tsx';
import { type AudienceQuery, AudienceSection, audienceFilter } from '../goal-audience.tsx';
import { fixed, fmt, label, share, timeLabel } from '../format.ts';
import type { DashEnv } from '../guard.ts';
import { CsrfField, errorPage, href, Layout, Notice, page, pageSite } from '../layout.tsx';
import type { DashSession } from '../session.ts';
import { FigureTable } from '../table.tsx';

const LIST = '/dashboard/goals';
const goalHref = (name: string) => `${LIST}/${encodeURIComponent(name)}`;

/** `purchase · category cameras · brand = acme · within 14d`. */
export function definitionText(g: GoalView): string {
  const parts = [g.event];
  if (g.category !== undefined) parts.push(`category ${g.category}`);
  for (const [k, v] of Object.entries(g.props ?? {})) parts.push(`${k} = ${String(v)}`);
  parts.push(`within ${g.within}`);
  return parts.join(' · ');
}

/** What serves the goal's probability now, in words. */
export function stateText(v: ModelView): string {
  if (v.status === 'untrained') return 'Untrained: the intent heuristic serves';
  if (v.stale) return 'Stale: the intent heuristic serves until it is retrained';
  if (v.status === 'fallback') return 'Fallback: the intent heuristic serves';
  return 'Model serves';
}

/** Whether the model ranks better than the heuristic it replaces, on the same holdout. */
export function beatsFallback(v: ModelView): 'yes' | 'no' | null {
  const model = v.evaluation?.holdout?.auc;
  const heuristic = v.evaluation?.heuristic?.auc;
  if (model === null || model === undefined || heuristic === null || heuristic === undefined)
    return null;
  return model > heuristic ? 'yes' : 'no';
}

const auc = (v: ModelView) => v.evaluation?.holdout?.auc;
const lift = (x: number | null | undefined) =>
  x === null || x === undefined ? '–' : `${fixed(x, 2)}×`;

/** What serves and why; `brief` (the list) leaves out the untrained goal's how-to. */
function State(props: { v: ModelView; brief?: boolean }) {
  const { v } = props;
  const why = props.brief && v.status === 'untrained' ? undefined : v.reason;
  return (
    <>
      <span class={`goal-state ${v.status === 'model' && !v.stale ? 'ok' : 'fallback'}`}>
        {stateText(v)}
      </span>
      {why ? (
        <>
          <br />
          <span class="note">{why}</span>
        </>
      ) : null}
    </>
  );
}

function ListPage(props: { site: SiteConfig; goals: { g: GoalView; v: ModelView }[] }) {
  const { site, goals } = props;
  return (
    <>
      <p class="note">
        Goals of site <strong>{site.id}</strong>: the config file's (read-only) and those saved
        through <code>/v1/goals</code>. Each goal's model is trained on the site's own events and
        judged on a later holdout it never saw; the figures below are that holdout's. Until a model
        is trusted, the intent heuristic serves.
      </p>
      {goals.length === 0 ? (
        <p>
          No goal yet: add one under <code>sites.{site.id}.goals</code> in the config file, or save
          one with <code>PUT /v1/goals/:name?site={site.id}</code> (docs/goals.md).
        </p>
      ) : (
        <FigureTable
          id="goals"
          class="goals"
          caption={<>Goals of site {site.id}</>}
          cols={[
            'Goal',
            { label: 'Definition', wideOnly: true },
            'Serves',
            { label: 'Holdout AUC', num: true },
            { label: 'Heuristic AUC', num: true },
            'Beats the fallback?',
            { label: 'Brier', num: true, wideOnly: true },
            { label: 'Top-decile lift', num: true },
            { label: 'Base rate', num: true, wideOnly: true },
            { label: 'Calibration error', num: true, wideOnly: true },
            { label: 'Examples (reached)', wideOnly: true },
          ]}
        >
          {goals.map(({ g, v }) => {
            const e = v.evaluation;
            const h = e?.holdout ?? null;
            const beats = beatsFallback(v);
            return (
              <tr data-goal={g.name}>
                <th scope="row">
                  <a href={href(goalHref(g.name), site.id)}>
                    <code>{g.name}</code>
                  </a>
                  <br />
                  <span class="note">{g.source === 'config' ? 'config file' : 'saved'}</span>
                </th>
                <td class="wide-only">{definitionText(g)}</td>
                <td class="state">
                  <State v={v} brief />
                  {v.trained === null ? null : (
                    <>
                      <br />
                      <span class="note">trained {timeLabel(v.trained)}</span>
                    </>
                  )}
                </td>
                <td class="num auc">{fixed(auc(v), 3)}</td>
                <td class="num heuristic-auc">{fixed(e?.heuristic?.auc, 3)}</td>
                <td class="beats">{beats ?? '–'}</td>
                <td class="num wide-only brier">{fixed(h?.brier, 4)}</td>
                <td class="num lift">{lift(h?.topDecileLift)}</td>
                <td class="num wide-only base-rate">{share(h?.baseRate)}</td>
                <td class="num wide-only calibration-error">{fixed(h?.calibrationError, 4)}</td>
                <td class="wide-only examples">
                  {/* A report stored before a split had figures (or by hand) shows none. */}
                  {e?.train && e.calibration ? (
                    <>
                      train {fmt(e.train.examples)} ({fmt(e.train.positives)})<br />
                      calibration {fmt(e.calibration.examples)} ({fmt(e.calibration.positives)})
                      <br />
                      holdout {h ? `${fmt(h.examples)} (${fmt(h.positives)})` : '–'}
                    </>
                  ) : (
                    '–'
                  )}
                </td>
              </tr>
            );
          })}
        </FigureTable>
      )}
    </>
  );
}

/** The notices Train now comes back with (`?trained=`). */
const NOTICES: Record<string, (v: ModelView) => string> = {
  done: (v) =>
    v.status === 'model'
      ? `Trained: the model serves (holdout AUC ${fixed(auc(v), 3)}).`
      : `Trained, but no model is trusted: ${v.reason ?? 'too little data'}. The intent heuristic serves.`,
  busy: () =>
    'Not trained: another training is running in this collector (one runs at a time). Try again in a minute.',
  recent: () =>
    `Not trained: this goal was trained less than ${Math.round(DASHBOARD.trainAgainMs / 60_000)} minutes ago. Try again later.`,
  timeout: () =>
    'Not trained: the training took longer than its time bound and stored nothing. The previous model, if any, still serves.',
  failed: () =>
    'Not trained: the training failed (the collector’s log says why). The previous model, if any, still serves.',
};

function TrainForm(props: { site: string; name: string; session: DashSession }) {
  return (
    <form method="post" action={href(`${goalHref(props.name)}/train`, props.site)} class="train">
      <CsrfField session={props.session} />
      <button type="submit">
        Train now<span class="visually-hidden"> goal {props.name}</span>
      </button>{' '}
      <span class="note train-status" role="status">
        Reads the site's events and fits in the background; the page comes back when it is done
        (seconds on a small site, at most {GOAL_LIMITS.trainMs / 1000} s).
      </span>
    </form>
  );
}

/** The buckets section's inputs: the form as sent, and the count or why there is none. */
interface Buckets {
  query: AudienceQuery;
  segments: string[];
  filter: AudienceFilter | null;
  problem: string | null;
  audience: Audience | null;
}

function GoalPage(props: {
  site: SiteConfig;
  g: GoalView;
  v: ModelView;
  notice: string | null;
  session: DashSession;
  buckets: Buckets;
}) {
  const { site, g, v } = props;
  // What the trainer stores adds the read's figures to the fit's report (trainer.ts).
  const e = v.evaluation as (TrainingReport & Partial<StoredReport>) | null;
  const h = e?.holdout ?? null;
  const beats = beatsFallback(v);
  return (
    <>
      <Notice text={props.notice} />
      <p>
        <a href={href(LIST, site.id)}>All goals</a>
      </p>
      <div class="grid">
        <section class="card" aria-labelledby="definition-h">
          <h2 id="definition-h">Definition</h2>
          <dl class="facts">
            <dt>Event</dt>
            <dd>
              <code>{g.event}</code>
            </dd>
            <dt>Category</dt>
            <dd>{g.category === undefined ? 'any' : <code>{g.category}</code>}</dd>
            <dt>Props</dt>
            <dd>
              {g.props && Object.keys(g.props).length > 0
                ? Object.entries(g.props).map(([k, val]) => (
                    <>
                      <code>
                        {k} = {String(val)}
                      </code>{' '}
                    </>
                  ))
                : 'any'}
            </dd>
            <dt>Within</dt>
            <dd>{g.within}</dd>
            {g.traits && g.traits.length > 0 ? (
              <>
                <dt>Traits as features</dt>
                <dd>{g.traits.join(', ')}</dd>
              </>
            ) : null}
            {g.description ? (
              <>
                <dt>Description</dt>
                <dd>{g.description}</dd>
              </>
            ) : null}
            <dt>Source</dt>
            <dd>
              {g.source === 'config'
                ? 'the config file (read-only here)'
                : 'saved through /v1/goals'}
            </dd>
          </dl>
        </section>
        <section class="card" aria-labelledby="model-h">
          <h2 id="model-h">Model</h2>
          <p class="model-state">
            <State v={v} />
          </p>
          <dl class="facts">
            <dt>Trained</dt>
            <dd>{v.trained === null ? 'never' : `${timeLabel(v.trained)} UTC`}</dd>
            {e?.rowsRead !== undefined ? (
              <>
                <dt>Read</dt>
                <dd>
                  {fmt(e.rowsRead)} events of {fmt(e.visitors)} visitors
                  {e.truncated ? ' (a bound stopped the read: part of the site)' : ''}, in{' '}
                  {fmt(e.totalMs)} ms
                </dd>
              </>
            ) : null}
          </dl>
          <TrainForm site={site.id} name={g.name} session={props.session} />
        </section>
      </div>
      <AudienceSection
        site={site.id}
        goal={g.name}
        within={g.within}
        {...props.buckets}
        holdout={
          e?.buckets && e.thresholds ? { buckets: e.buckets, thresholds: e.thresholds } : null
        }
      />
      {h ? (
        <>
          <section class="card" aria-labelledby="quality-h">
            <h2 id="quality-h">Quality on the holdout</h2>
            <p class="note">
              The latest cut-off's visitors, which neither the fit nor the calibration saw (
              {timeLabel(e?.cutoffs?.[0] ?? 0)} UTC, goal reached within {g.within} after it). An
              example is a visitor at a cut-off.
            </p>
            <ul class="figures goal-figures">
              <li>
                <span class="value" data-figure="auc">
                  {fixed(h.auc, 3)}
                </span>
                <span class="label">AUC (0.5: chance)</span>
              </li>
              <li>
                <span class="value" data-figure="heuristic-auc">
                  {fixed(e?.heuristic?.auc, 3)}
                </span>
                <span class="label">the intent heuristic's AUC</span>
              </li>
              <li>
                <span class="value" data-figure="beats">
                  {beats ?? '–'}
                </span>
                <span class="label">beats the fallback it replaces?</span>
              </li>
              <li>
                <span class="value" data-figure="brier">
                  {fixed(h.brier, 4)}
                </span>
                <span class="label">Brier score (lower is better)</span>
              </li>
              <li>
                <span class="value" data-figure="lift">
                  {lift(h.topDecileLift)}
                </span>
                <span class="label">top-decile lift</span>
              </li>
              <li>
                <span class="value" data-figure="base-rate">
                  {share(h.baseRate)}
                </span>
                <span class="label">base rate</span>
              </li>
              <li>
                <span class="value" data-figure="calibration-error">
                  {fixed(h.calibrationError, 4)}
                </span>
                <span class="label">calibration error</span>
              </li>
            </ul>
            <FigureTable
              id="splits"
              caption="Examples per split"
              cols={[
                'Split',
                { label: 'Examples', num: true },
                { label: 'Reached the goal', num: true },
                { label: 'Share', num: true, wideOnly: true },
              ]}
            >
              {[
                ['train (fit)', e?.train],
                ['calibration', e?.calibration],
                ['holdout', { examples: h.examples, positives: h.positives }],
              ].map(([name, s]) =>
                typeof s === 'object' && s ? (
                  <tr>
                    <th scope="row">{String(name)}</th>
                    <td class="num">{fmt(s.examples)}</td>
                    <td class="num">{fmt(s.positives)}</td>
                    <td class="num wide-only">
                      {share(s.examples > 0 ? s.positives / s.examples : null)}
                    </td>
                  </tr>
                ) : null,
              )}
            </FigureTable>
          </section>
          <section class="card" aria-labelledby="calibration-h">
            <h2 id="calibration-h">Calibration</h2>
            <p class="note">
              The holdout in ten equal deciles of predicted probability: a calibrated model's
              predicted share is the observed one.
            </p>
            <div class="calibration">
              <CalibrationChart bins={h.calibration} id="calibration-chart" />
              <FigureTable
                id="calibration"
                caption="By decile"
                cols={[
                  { label: 'Decile', num: true },
                  { label: 'Examples', num: true, wideOnly: true },
                  { label: 'Predicted', num: true },
                  { label: 'Observed', num: true },
                ]}
              >
                {h.calibration.map((b) => (
                  <tr>
                    <th scope="row" class="num">
                      {b.decile}
                    </th>
                    <td class="num wide-only">{fmt(b.n)}</td>
                    <td class="num">{share(b.predicted)}</td>
                    <td class="num">{share(b.observed)}</td>
                  </tr>
                ))}
              </FigureTable>
            </div>
          </section>
        </>
      ) : null}
      {v.topFeatures && v.topFeatures.length > 0 ? (
        <section class="card" aria-labelledby="features-h">
          <h2 id="features-h">Strongest features</h2>
          <p class="note">
            Weights on standardized values: how much one standard deviation more of a feature moves
            the odds (positive: more likely to reach the goal).
          </p>
          <FigureTable
            id="features"
            caption="Largest weights"
            cols={['Feature', { label: 'Weight', num: true }, 'Effect']}
          >
            {v.topFeatures.map((f) => (
              <tr>
                <th scope="row">
                  <code>{f.name}</code>
                </th>
                <td class="num">{fixed(f.weight, 3)}</td>
                <td>{f.weight >= 0 ? 'more likely' : 'less likely'}</td>
              </tr>
            ))}
          </FigureTable>
        </section>
      ) : null}
      {e?.heuristic ? (
        <section class="card" aria-labelledby="heuristic-h">
          <h2 id="heuristic-h">The intent heuristic on the same holdout</h2>
          <p class="note">
            What serves while no model is trusted: today's <code>intent</code>, read for each
            holdout visitor at the cut-off; per bucket, its examples and the share that reached the
            goal.
          </p>
          <FigureTable
            id="heuristic"
            caption="Intent buckets on the holdout"
            cols={['Intent', { label: 'Examples', num: true }, { label: 'Reached', num: true }]}
          >
            {INTENTS.map((i) => (
              <tr data-bucket={i}>
                <th scope="row">{label(i)}</th>
                <td class="num">{fmt(e.heuristic?.buckets[i].n)}</td>
                <td class="num">{share(e.heuristic?.buckets[i].rate)}</td>
              </tr>
            ))}
          </FigureTable>
        </section>
      ) : null}
    </>
  );
}

/** The stored model's view for each goal of the site (one indexed read per goal, ≤ 20 + config). */
async function views(deps: Deps, site: SiteConfig, goals: GoalView[]) {
  return Promise.all(
    goals.map(async (g) => ({
      g,
      v: modelView(goalOf(g), await deps.storage.goals.model(site.id, g.name)),
    })),
  );
}

export function goalsPage(deps: Deps) {
  const app = new Hono<DashEnv>();

  /**
   * The buckets of goal `name` for the page's filter (`?segment=&trait=&value=`): a count as
   * `GET /v1/goals/:name/audience` makes it, with its bounds (time, profiles, two at once).
   */
  async function countBuckets(
    c: Context<DashEnv>,
    site: SiteConfig,
    name: string,
  ): Promise<Buckets> {
    const query: AudienceQuery = {
      segment: c.req.query('segment') ?? '',
      trait: c.req.query('trait') ?? '',
      value: c.req.query('value') ?? '',
    };
    const segments = site.engine.rules.map((r) => r.name);
    const parsed = audienceFilter(query, segments);
    if ('problem' in parsed)
      return { query, segments, filter: null, problem: parsed.problem, audience: null };
    const { filter } = parsed;
    try {
      const audience = await goalAudience(deps.storage, site, name, filter, deps.now());
      return { query, segments, filter, problem: null, audience };
    } catch (err) {
      const problem =
        err instanceof AudienceBusy
          ? 'Other counts are running in this collector: reload the page in a moment.'
          : err instanceof UnknownGoal
            ? 'This goal is not in force in this collector yet (a goal saved a moment ago is picked up within seconds): reload the page.'
            : err instanceof UnknownSegment
              ? `This site has no custom segment "${filter.segment ?? ''}" in force.`
              : null;
      if (problem === null) throw err;
      return { query, segments, filter, problem, audience: null };
    }
  }

  const unknown = (c: Context<DashEnv>, site: SiteConfig, name: string) =>
    errorPage(c, 404, 'No such goal', `Site ${site.id} has no goal "${name}".`, site.id);

  app.get(LIST, async (c) => {
    const { site, refused } = pageSite(c, deps);
    if (refused) return refused;
    const goals = await views(deps, site, await listGoals(deps.storage, site));
    return page(
      c,
      <Layout title="Goals" session={c.var.session} site={site.id} active="goals">
        <ListPage site={site} goals={goals} />
      </Layout>,
    );
  });

  app.get(`${LIST}/:name`, async (c) => {
    const { site, refused } = pageSite(c, deps);
    if (refused) return refused;
    const name = c.req.param('name');
    const g = await findGoal(deps.storage, site, name);
    if (!g) return unknown(c, site, name);
    const v = modelView(goalOf(g), await deps.storage.goals.model(site.id, name));
    const said = NOTICES[c.req.query('trained') ?? ''];
    const buckets = await countBuckets(c, site, name);
    return page(
      c,
      <Layout title={`Goal ${name}`} session={c.var.session} site={site.id} active="goals">
        <GoalPage
          site={site}
          g={g}
          v={v}
          notice={said ? said(v) : null}
          session={c.var.session}
          buckets={buckets}
        />
      </Layout>,
      buckets.problem && buckets.filter === null ? 400 : 200,
    );
  });

  // Train now: the trainer's own bounds (rows, visitors, time, one at a time per process), and
  // not again within DASHBOARD.trainAgainMs of the last training of the same definition.
  app.post(`${LIST}/:name/train`, async (c) => {
    const { site, refused } = pageSite(c, deps);
    if (refused) return refused;
    const name = c.req.param('name');
    const g = await findGoal(deps.storage, site, name);
    if (!g) return unknown(c, site, name);
    const goal = goalOf(g);
    const back = (trained: keyof typeof NOTICES) =>
      c.redirect(href(goalHref(name), site.id, { trained }), 303);
    const now = deps.now();
    const last = await deps.storage.goals.model(site.id, name);
    if (last && last.definition === goalKey(goal) && now - last.trained < DASHBOARD.trainAgainMs)
      return back('recent');
    try {
      const report = await trainGoal(deps.storage, site, name, goal, { now });
      // This process serves the new model at once (the others pick it up at their next poll).
      await deps.goals.refresh(site.id);
      deps.log('info', 'goal trained from the dashboard', {
        site: site.id,
        goal: name,
        status: report.status,
        ms: report.totalMs,
      });
      return back('done');
    } catch (err) {
      if (err instanceof TrainingBusy) return back('busy');
      if (err instanceof TrainingTimeout) return back('timeout');
      deps.log('error', 'goal training from the dashboard failed', {
        site: site.id,
        goal: name,
        err: String(err),
      });
      return back('failed');
    }
  });

  return app;
}
