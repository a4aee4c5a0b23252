/**
 * The Deliveries page (`/dashboard/deliveries`): the site's webhook deliveries by status, newest
 * first and paged, each with its target, segment change, attempts and last error; a failed one
 * has a Replay button. Reads and replays through the same storage functions as
 * `GET /v1/deliveries` and `POST /v1/deliveries/:id/replay` (storage.outbox: list, get, replay),
 * so the page and the API cannot disagree. The replay form is a POST behind the session and the
 * dashboard's CSRF check; it answers with a redirect back to the list (303).
 */
import { Hono } from 'hono';
import type { Delivery, DeliveryStatus } from '../../../shared/webhook.ts';
import type { Deps } from '../../http/app.ts';
import type { DashEnv } from '../guard.ts';
import { CsrfField, errorPage, href, Layout, page, pageSite } from '../layout.tsx';

const STATUSES: DeliveryStatus[] = ['pending', 'delivered', 'failed'];
/** Deliveries on one page. */
const PAGE = 50;

const when = (ms: number | null) =>
  ms === null ? '—' : new Date(ms).toISOString().replace('T', ' ').slice(0, 19);

function DeliveryRow(props: { d: Delivery; site: string; csrf: CsrfProps }) {
  const { d } = props;
  const last =
    d.lastError ?? (d.lastStatus !== null ? `HTTP ${d.lastStatus}` : d.attempts > 0 ? '—' : '');
  return (
    <tr>
      <td data-label="Delivery">
        <code>{d.id}</code>
        <br />
        <span class="note">{when(d.created)}</span>
      </td>
      <td data-label="Status">
        <span class={`status status-${d.status}`}>{d.status}</span>
        {d.status === 'pending' ? (
          <>
            <br />
            <span class="note">next {when(d.nextAttempt)}</span>
          </>
        ) : null}
      </td>
      <td data-label="Target">
        {d.hook}
        <br />
        <code class="target">{d.url}</code>
      </td>
      <td data-label="Change">
        {d.change === 'enter' ? 'entered' : 'left'} <strong>{d.segment}</strong>
        <br />
        {d.contact !== null ? (
          <a href={href(`/dashboard/contacts/${encodeURIComponent(d.contact)}`, props.site)}>
            contact {d.contact}
          </a>
        ) : (
          <a href={href(`/dashboard/visitors/${encodeURIComponent(d.visitor)}`, props.site)}>
            {d.visitor}
          </a>
        )}
      </td>
      <td class="num" data-label="Attempts">
        {d.attempts}
      </td>
      <td data-label="Last answer">
        {last}
        {d.lastAttempt !== null ? (
          <>
            <br />
            <span class="note">{when(d.lastAttempt)}</span>
          </>
        ) : null}
      </td>
      <td data-label="Action">
        {d.status === 'failed' ? (
          <form
            method="post"
            action={href(`/dashboard/deliveries/${encodeURIComponent(d.id)}/replay`, props.site)}
          >
            <CsrfField session={props.csrf.session} />
            <button type="submit" aria-label={`Replay delivery ${d.id}`}>
              Replay
            </button>
          </form>
        ) : null}
      </td>
    </tr>
  );
}

type CsrfProps = Parameters<typeof CsrfField>[0];

export function deliveriesPage(deps: Deps) {
  const app = new Hono<DashEnv>();
  const { outbox } = deps.storage;

  app.get('/dashboard/deliveries', async (c) => {
    const { site, refused } = pageSite(c, deps);
    if (refused) return refused;
    const statusParam = c.req.query('status');
    const status = STATUSES.find((s) => s === statusParam);
    if (statusParam !== undefined && statusParam !== '' && status === undefined)
      return errorPage(c, 400, 'Deliveries', `status is one of ${STATUSES.join(', ')}`, site.id);
    const beforeParam = c.req.query('before');
    const before = beforeParam === undefined ? undefined : Number(beforeParam);
    if (before !== undefined && !Number.isInteger(before))
      return errorPage(
        c,
        400,
        'Deliveries',
        'before is the "Older" link of a previous page',
        site.id,
      );
    const rows = await outbox.list(site.id, { status, limit: PAGE, before });
    const next = rows.length === PAGE ? rows.at(-1)?.seq : undefined;
    const replayed = c.req.query('replayed');
    const tab = (label: string, s: DeliveryStatus | undefined) => (
      <li>
        <a
          href={href('/dashboard/deliveries', site.id, { status: s })}
          aria-current={s === status ? 'page' : undefined}
        >
          {label}
        </a>
      </li>
    );
    return page(
      c,
      <Layout
        title="Deliveries"
        session={c.var.session}
        site={site.id}
        active="deliveries"
        keep={status ? { status } : {}}
      >
        {replayed ? (
          <p class="note" role="status">
            Delivery <code>{replayed}</code> is queued again: the webhook worker sends it now.
          </p>
        ) : null}
        <p class="note">
          Webhook calls for segment changes of site <strong>{site.id}</strong>
          {site.webhooks.length === 0 ? ' (the site has no webhook configured)' : ''}. A delivery is
          retried with backoff; one that failed every attempt can be replayed once the receiver is
          fixed.
        </p>
        <nav aria-label="Delivery status">
          <ul class="tabs">
            {tab('All', undefined)}
            {tab('Pending', 'pending')}
            {tab('Delivered', 'delivered')}
            {tab('Failed', 'failed')}
          </ul>
        </nav>
        {rows.length === 0 ? (
          <p>
            No {status ?? ''} delivery{before !== undefined ? ' older than these' : ''}.
          </p>
        ) : (
          <div class="table-wrap">
            <table class="deliveries">
              <caption>
                {status ? `${status[0]?.toUpperCase()}${status.slice(1)} deliveries` : 'Deliveries'}
                , newest first
              </caption>
              <thead>
                <tr>
                  <th scope="col">Delivery</th>
                  <th scope="col">Status</th>
                  <th scope="col">Target</th>
                  <th scope="col">Change</th>
                  <th scope="col" class="num">
                    Attempts
                  </th>
                  <th scope="col">Last answer</th>
                  <th scope="col">
                    <span class="visually-hidden">Action</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {rows.map(({ seq: _seq, ...d }) => (
                  <DeliveryRow d={d} site={site.id} csrf={{ session: c.var.session }} />
                ))}
              </tbody>
            </table>
          </div>
        )}
        <p class="pager">
          {before !== undefined ? (
            <a href={href('/dashboard/deliveries', site.id, { status })}>Newest</a>
          ) : null}{' '}
          {next !== undefined ? (
            <a href={href('/dashboard/deliveries', site.id, { status, before: next })}>Older</a>
          ) : null}
        </p>
      </Layout>,
    );
  });

  // CSRF is checked by the dashboard's middleware before this runs (guard.ts requireCsrf).
  app.post('/dashboard/deliveries/:id/replay', async (c) => {
    const { site, refused } = pageSite(c, deps);
    if (refused) return refused;
    const id = c.req.param('id');
    const res = await outbox.replay(site.id, id, deps.now());
    if (res === 'not_found')
      return errorPage(
        c,
        404,
        'No such delivery',
        `No delivery "${id}" for site "${site.id}".`,
        site.id,
      );
    if (res === 'not_failed')
      return errorPage(
        c,
        409,
        'Not replayed',
        `Delivery "${id}" has not failed: only a failed delivery is replayed.`,
        site.id,
      );
    return c.redirect(href('/dashboard/deliveries', site.id, { replayed: id }), 303);
  });

  return app;
}
