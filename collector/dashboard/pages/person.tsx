/**
 * The person page (`/dashboard/visitors/:id`, `/dashboard/contacts/:id`): one visitor or contact
 * as `GET /v1/visitors/:id` answers it (`visitorView`): the segment now and why, traits, campaign
 * first and last touch, the timeline newest first and the segment history, each paged by the
 * API's own cursors. Erasure asks for a confirmation, then runs the erasure of
 * `DELETE /v1/visitors/:id` (or `/v1/contacts/:id`) as a CSRF-checked POST.
 */
import type { Context } from 'hono';
import { Hono } from 'hono';
import { LIMITS } from '../../../shared/limits.ts';
import type { CampaignTouch, VisitorResponse } from '../../../shared/stats.ts';
import type { SiteConfig } from '../../config/config.ts';
import type { Deps } from '../../http/app.ts';
import { validContactId } from '../../identity/token.ts';
import { ID_PATTERN } from '../../ingest/validate.ts';
import { visitorView } from '../../storage/stats.ts';
import { fmt, label, pct, RFM_LABELS, timeLabel } from '../format.ts';
import type { DashEnv } from '../guard.ts';
import { CsrfField, errorPage, href, Layout, page, pageSite } from '../layout.tsx';
import { FigureTable } from '../table.tsx';

const TIMELINE_PAGE = 50;
const HISTORY_PAGE = 100;
const CURSOR = /^\d{1,15}\.[A-Za-z0-9_-]{1,64}$/;

type Who = { kind: 'visitor'; id: string } | { kind: 'contact'; id: string };

const base = (who: Who) =>
  `/dashboard/${who.kind === 'visitor' ? 'visitors' : 'contacts'}/${encodeURIComponent(who.id)}`;

function Touch({ t }: { t: CampaignTouch | null }) {
  if (!t) return <>none</>;
  const parts = [t.source, t.medium, t.campaign, t.term, t.content].filter(Boolean);
  return (
    <>
      {parts.join(' / ') || '(no utm)'} <span class="note">at {timeLabel(t.ts)}</span>
    </>
  );
}

function PersonView(props: {
  v: VisitorResponse;
  who: Who;
  site: string;
  before?: string | undefined;
  after?: number | undefined;
}) {
  const { v, who, site } = props;
  const affinity = Object.entries(v.why.affinity).sort((a, b) => b[1] - a[1]);
  return (
    <>
      <p>
        {v.contact ? (
          <>
            Known contact <code>{v.contact}</code>
            {who.kind === 'visitor' ? (
              <>
                {' '}
                (this browser, <code>{v.visitor}</code>, is linked to it)
              </>
            ) : null}
            .
          </>
        ) : (
          <>Anonymous visitor.</>
        )}{' '}
        First seen {timeLabel(v.why.firstSeen)}, last seen {timeLabel(v.why.lastSeen)}.
      </p>
      <div class="grid">
        <section class="card" aria-labelledby="segment-h">
          <h2 id="segment-h">Segment now</h2>
          <dl class="facts" id="segment-now">
            <dt>Microsegment</dt>
            <dd>
              <code id="segment-key">{v.segment.segment}</code>
            </dd>
            <dt>Lifecycle</dt>
            <dd>{label(v.why.lifecycle)}</dd>
            <dt>Engagement</dt>
            <dd>{label(v.why.engagement)}</dd>
            <dt>RFM</dt>
            <dd>
              {v.why.rfm
                ? `${RFM_LABELS[v.why.rfm.label]} (R${v.why.rfm.r} F${v.why.rfm.f} M${v.why.rfm.m})`
                : 'not a customer'}
            </dd>
            <dt>Custom segments</dt>
            <dd id="rules">{v.why.rules.length > 0 ? v.why.rules.join(', ') : 'none'}</dd>
            <dt>Events</dt>
            <dd>{fmt(v.why.events)}</dd>
            <dt>Purchases</dt>
            <dd>
              {fmt(v.why.purchases.count)} for {fmt(Math.round(v.why.purchases.total * 100) / 100)}
              {v.why.purchases.last !== null ? `, last ${timeLabel(v.why.purchases.last)}` : ''}
            </dd>
          </dl>
        </section>
        <section class="card" aria-labelledby="why-h">
          <h2 id="why-h">Why</h2>
          {affinity.length > 0 ? (
            <FigureTable
              id="affinity"
              caption="Category affinity (share of decayed interest)"
              cols={['Category', { label: 'Share', num: true }]}
            >
              {affinity.map(([cat, share]) => (
                <tr>
                  <th scope="row">{cat}</th>
                  <td class="num">
                    <progress max={1} value={share} aria-hidden="true" /> {pct(share, 1)}
                  </td>
                </tr>
              ))}
            </FigureTable>
          ) : (
            <p>No categorized activity.</p>
          )}
          <FigureTable
            id="windows"
            caption="Events in the rules' windows"
            cols={['Window', { label: 'Events', num: true }, 'By type']}
          >
            {v.why.windows.map((w) => (
              <tr>
                <th scope="row">{w.days} days</th>
                <td class="num">{fmt(w.events)}</td>
                <td>
                  {Object.entries(w.byType)
                    .map(([t, n]) => `${t} ${n}`)
                    .join(', ') || '–'}
                </td>
              </tr>
            ))}
          </FigureTable>
        </section>
        <section class="card" aria-labelledby="traits-h">
          <h2 id="traits-h">Traits and campaigns</h2>
          {Object.keys(v.traits).length > 0 ? (
            <dl class="facts" id="traits">
              {Object.entries(v.traits).map(([k, val]) => (
                <>
                  <dt>{k}</dt>
                  <dd>{String(val)}</dd>
                </>
              ))}
            </dl>
          ) : (
            <p>No traits.</p>
          )}
          <h3>Campaign touches</h3>
          <dl class="facts">
            <dt>First</dt>
            <dd>
              <Touch t={v.campaign.first} />
            </dd>
            <dt>Last</dt>
            <dd>
              <Touch t={v.campaign.last} />
            </dd>
          </dl>
        </section>
      </div>
      <section class="card" aria-labelledby="timeline-h">
        <h2 id="timeline-h">Timeline</h2>
        {v.events.items.length === 0 ? (
          <p>No events{props.before ? ' before this point' : ''}.</p>
        ) : (
          <FigureTable
            id="timeline"
            caption={<>Events, newest first{props.before ? ' (older page)' : ''}</>}
            cols={['Time (UTC)', 'Event', 'Category', 'Page', { label: 'Value', num: true }]}
          >
            {v.events.items.map((e) => (
              <tr data-event={e.id}>
                <th scope="row">{timeLabel(e.ts)}</th>
                <td>
                  {e.type}
                  {e.bot ? ' (automation)' : ''}
                </td>
                <td>{e.category ?? '–'}</td>
                <td>
                  <code>{e.url ?? '–'}</code>
                </td>
                <td class="num">
                  {e.value === null ? '–' : `${fmt(e.value)}${e.currency ? ` ${e.currency}` : ''}`}
                </td>
              </tr>
            ))}
          </FigureTable>
        )}
        <nav class="pager" aria-label="Timeline pages">
          {props.before ? <a href={href(base(who), site)}>Newest events</a> : null}
          {v.events.next ? (
            <a href={href(base(who), site, { before: v.events.next })}>Older events</a>
          ) : null}
        </nav>
      </section>
      <section class="card" aria-labelledby="history-h">
        <h2 id="history-h">Segment history</h2>
        {v.history.items.length === 0 ? (
          <p>No segment changes{props.after !== undefined ? ' after this point' : ''}.</p>
        ) : (
          <FigureTable
            id="history"
            caption="Segment enters and exits, oldest first"
            cols={['Time (UTC)', 'Change', 'Segment', 'Before']}
          >
            {v.history.items.map((h) => (
              <tr data-seq={h.seq}>
                <th scope="row">{timeLabel(h.at)}</th>
                <td>{h.kind === 'key' ? 'moved' : h.kind}</td>
                <td>
                  <code>{h.name}</code>
                </td>
                <td>{h.previous ? <code>{h.previous}</code> : '–'}</td>
              </tr>
            ))}
          </FigureTable>
        )}
        {v.history.next !== null ? (
          <nav class="pager" aria-label="History pages">
            <a href={href(base(who), site, { after: v.history.next })}>Later changes</a>
          </nav>
        ) : null}
      </section>
      <section class="card" aria-labelledby="erase-h">
        <h2 id="erase-h">Erase</h2>
        <p>
          Erasing removes every row of this {v.contact ? 'contact, on all its devices' : 'visitor'},
          in every table, for good.
        </p>
        <a
          class="button secondary"
          href={href(
            v.contact
              ? `/dashboard/contacts/${encodeURIComponent(v.contact)}/erase`
              : `${base(who)}/erase`,
            site,
          )}
        >
          Erase…
        </a>
      </section>
    </>
  );
}

/** The visitor a person page reads: the visitor itself, or a browser linked to the contact. */
async function viewOf(
  c: Context<DashEnv>,
  deps: Deps,
  site: SiteConfig,
  who: Who,
): Promise<
  | { view: VisitorResponse | null; before?: string | undefined; after?: number | undefined }
  | { bad: string }
> {
  const before = c.req.query('before');
  if (before !== undefined && !CURSOR.test(before))
    return { bad: 'before is the cursor of an older page' };
  const afterText = c.req.query('after');
  const after = afterText === undefined ? undefined : Number(afterText);
  if (after !== undefined && !(Number.isSafeInteger(after) && after >= 0))
    return { bad: 'after is the cursor of a later page' };
  let visitor = who.id;
  if (who.kind === 'contact') {
    const linked = await deps.storage.identity.linkedVisitors(site.id, who.id);
    const first = linked[0];
    if (first === undefined) return { view: null };
    visitor = first;
  }
  const dot = before?.indexOf('.') ?? -1;
  const view = await visitorView(deps.storage, site, visitor, deps.now(), {
    limit: TIMELINE_PAGE,
    before:
      before && dot > 0
        ? { ts: Number(before.slice(0, dot)), id: before.slice(dot + 1) }
        : undefined,
    historyLimit: HISTORY_PAGE,
    after,
  });
  return { view, before, after };
}

function validWho(who: Who): boolean {
  return who.kind === 'visitor'
    ? ID_PATTERN.test(who.id) && who.id.length <= LIMITS.idLength
    : validContactId(who.id);
}

export function personPage(deps: Deps) {
  const app = new Hono<DashEnv>();

  const show = (kind: Who['kind']) => async (c: Context<DashEnv>) => {
    const { site, refused } = pageSite(c, deps);
    if (refused) return refused;
    const who: Who = { kind, id: c.req.param('id') ?? '' };
    const title = kind === 'visitor' ? `Visitor ${who.id}` : `Contact ${who.id}`;
    if (!validWho(who)) return errorPage(c, 400, title, `That is not a valid ${kind} id.`, site.id);
    const r = await viewOf(c, deps, site, who);
    if ('bad' in r) return errorPage(c, 400, title, r.bad, site.id);
    if (!r.view)
      return errorPage(
        c,
        404,
        title,
        kind === 'visitor'
          ? `Site ${site.id} has nothing of visitor "${who.id}".`
          : `No browser is linked to contact "${who.id}" in site ${site.id} now.`,
        site.id,
      );
    return page(
      c,
      <Layout title={title} session={c.var.session} site={site.id}>
        <PersonView v={r.view} who={who} site={site.id} before={r.before} after={r.after} />
      </Layout>,
    );
  };

  const confirm = (kind: Who['kind']) => (c: Context<DashEnv>) => {
    const { site, refused } = pageSite(c, deps);
    if (refused) return refused;
    const who: Who = { kind, id: c.req.param('id') ?? '' };
    const title = `Erase ${kind} ${who.id}?`;
    if (!validWho(who)) return errorPage(c, 400, title, `That is not a valid ${kind} id.`, site.id);
    return page(
      c,
      <Layout title={title} session={c.var.session} site={site.id}>
        <form method="post" action={href(`${base(who)}/erase`, site.id)} class="card">
          <CsrfField session={c.var.session} />
          <p>
            Every row of {kind} <code>{who.id}</code> in site {site.id} is removed: profile, events,
            links, segment history{kind === 'contact' ? ', traits, and every linked browser' : ''}.
            This cannot be undone.
          </p>
          <p>
            <button type="submit" class="danger">
              Erase {kind} {who.id}
            </button>{' '}
            <a href={href(base(who), site.id)}>Cancel</a>
          </p>
        </form>
      </Layout>,
    );
  };

  const erase = (kind: Who['kind']) => async (c: Context<DashEnv>) => {
    const { site, refused } = pageSite(c, deps);
    if (refused) return refused;
    const who: Who = { kind, id: c.req.param('id') ?? '' };
    const title = `Erased ${kind} ${who.id}`;
    if (!validWho(who)) return errorPage(c, 400, title, `That is not a valid ${kind} id.`, site.id);
    const now = deps.now();
    // The erasure of DELETE /v1/visitors/:id and /v1/contacts/:id, as is.
    const result = await deps.storage.write((tx) =>
      kind === 'visitor' ? tx.eraseVisitor(site.id, who.id) : tx.eraseContact(site.id, who.id, now),
    );
    const total = Object.values(result.removed).reduce((a, b) => a + b, 0);
    return page(
      c,
      <Layout title={title} session={c.var.session} site={site.id}>
        <p role="status" id="erased">
          Removed {fmt(total)} rows.
        </p>
        <p>
          <a href={href('/dashboard/segments', site.id)}>Back to the segments</a>
        </p>
      </Layout>,
    );
  };

  app.get('/dashboard/visitors/:id', show('visitor'));
  app.get('/dashboard/contacts/:id', show('contact'));
  app.get('/dashboard/visitors/:id/erase', confirm('visitor'));
  app.get('/dashboard/contacts/:id/erase', confirm('contact'));
  app.post('/dashboard/visitors/:id/erase', erase('visitor'));
  app.post('/dashboard/contacts/:id/erase', erase('contact'));
  return app;
}
