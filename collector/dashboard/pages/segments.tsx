/**
 * The Segments page: every microsegment key and custom segment with its members now (the answer
 * of `GET /v1/segments`, `segmentSummaries`), its change over 7 days and a sparkline (the daily
 * sizes of `GET /v1/stats`, `siteStats`); one segment's members paged, each linking to its person;
 * CSV and NDJSON downloads through the export of `GET /v1/segments/:name/members`.
 */
import { Hono } from 'hono';
import { DASHBOARD } from '../../../shared/limits.ts';
import type { Deps } from '../../http/app.ts';
import { membersExport } from '../../http/routes/admin.ts';
import {
  audienceOf,
  type MemberRow,
  segmentSummaries,
  unknownAudience,
} from '../../storage/audience.ts';
import { siteStats, statsRange } from '../../storage/stats.ts';
import { chartData } from '../chart.ts';
import { dayLabel, fmt } from '../format.ts';
import type { DashEnv } from '../guard.ts';
import { errorPage, href, Layout, page, pageSite } from '../layout.tsx';
import { FigureTable } from '../table.tsx';

const WEEK = 7 * 86_400_000;

/** Where a member's person page is: a contact's profile (`c:<id>`) or a visitor's. */
export function personHref(member: string, site: string): string {
  return member.startsWith('c:')
    ? href(`/dashboard/contacts/${encodeURIComponent(member.slice(2))}`, site)
    : href(`/dashboard/visitors/${encodeURIComponent(member)}`, site);
}

/** One page of a segment's members: the export's cursor, `page` pages in (bounded reads). */
async function membersPage(
  rows: AsyncIterable<MemberRow>,
  pageNo: number,
): Promise<{ items: MemberRow[]; more: boolean }> {
  const skip = pageNo * DASHBOARD.membersPage;
  const items: MemberRow[] = [];
  let i = 0;
  for await (const row of rows) {
    if (i++ < skip) continue;
    if (items.length === DASHBOARD.membersPage) return { items, more: true };
    items.push(row);
  }
  return { items, more: false };
}

export function segmentsPage(deps: Deps) {
  const app = new Hono<DashEnv>();
  const { storage } = deps;

  app.get('/dashboard/segments', async (c) => {
    const { site, refused } = pageSite(c, deps);
    if (refused) return refused;
    const now = deps.now();
    const range = statsRange({ bucket: 'day', from: now - WEEK, to: now }, now);
    if (!range.ok) return errorPage(c, 500, 'Range', range.message, site.id);
    const [segments, stats] = await Promise.all([
      segmentSummaries(storage, site),
      siteStats(storage, site, range.value, now),
    ]);
    const series = new Map(stats.segments.series.map((s) => [`${s.kind}:${s.name}`, s.members]));
    const days = stats.segments.days;
    const selected = c.req.query('segment');
    const pageNo = Math.max(0, Math.min(10_000, Number(c.req.query('page') ?? 0) || 0));
    let members: { items: MemberRow[]; more: boolean } | undefined;
    let problem: string | null = null;
    if (selected !== undefined) {
      const audience = audienceOf(selected);
      problem = unknownAudience(site, selected, audience);
      if (!problem) members = await membersPage(storage.members(site.id, audience), pageNo);
    }
    return page(
      c,
      <Layout title="Segments" session={c.var.session} site={site.id} active="segments">
        <p class="note">Members now; change since {dayLabel(days[0] ?? now)} (daily sizes, UTC).</p>
        <FigureTable
          id="segments"
          caption={<>Every segment of site {site.id}</>}
          cols={[
            'Segment',
            { label: 'Kind', wideOnly: true },
            { label: 'Members', num: true },
            { label: 'Change over 7 days', num: true },
            { label: 'Trend', wideOnly: true },
          ]}
        >
          {segments.map((s) => {
            const values = series.get(`${s.kind}:${s.name}`) ?? [];
            const before = values.find((v) => v !== null) ?? null;
            const change = before === null ? null : s.members - before;
            const spark = {
              kind: 'spark' as const,
              x: days.map((d) => d / 1000),
              series: [{ label: s.name, values }],
            };
            return (
              <tr data-segment={s.name} data-kind={s.kind}>
                <th scope="row">
                  <a href={href('/dashboard/segments', site.id, { segment: s.name })}>
                    <code>{s.name}</code>
                  </a>
                </th>
                <td class="wide-only">{s.kind === 'key' ? 'microsegment' : 'custom'}</td>
                <td class="num members">{fmt(s.members)}</td>
                <td
                  class={`num change ${change && change > 0 ? 'up' : change && change < 0 ? 'down' : ''}`}
                >
                  {change === null ? '–' : `${change > 0 ? '+' : ''}${fmt(change)}`}
                </td>
                <td class="wide-only">
                  {values.some((v) => v !== null) ? (
                    <div class="spark" aria-hidden="true" data-chart={chartData(spark)} />
                  ) : null}
                </td>
              </tr>
            );
          })}
        </FigureTable>
        {selected !== undefined ? (
          <section class="card members-card" aria-labelledby="members-h">
            <h2 id="members-h">
              Members of <code>{selected}</code>
            </h2>
            {problem ? (
              <p role="alert" class="error">
                {problem}
              </p>
            ) : (
              <>
                <p>
                  Download all:{' '}
                  <a
                    class="button secondary"
                    href={href(
                      `/dashboard/segments/${encodeURIComponent(selected)}/export`,
                      site.id,
                      { format: 'csv' },
                    )}
                  >
                    CSV
                  </a>{' '}
                  <a
                    class="button secondary"
                    href={href(
                      `/dashboard/segments/${encodeURIComponent(selected)}/export`,
                      site.id,
                      { format: 'ndjson' },
                    )}
                  >
                    NDJSON
                  </a>
                </p>
                {members && members.items.length > 0 ? (
                  <FigureTable
                    id="members"
                    caption={
                      <>
                        Page {pageNo + 1} ({DASHBOARD.membersPage} a page)
                      </>
                    }
                    cols={[
                      'Person',
                      'Segment key',
                      'Last seen',
                      { label: 'Purchases', num: true },
                      { label: 'Spent', num: true },
                    ]}
                  >
                    {members.items.map((m) => (
                      <tr>
                        <th scope="row">
                          <a href={personHref(m.visitor, site.id)}>
                            <code>{m.visitor}</code>
                          </a>
                        </th>
                        <td>
                          <code>{m.segment}</code>
                        </td>
                        <td>{dayLabel(m.lastSeen)}</td>
                        <td class="num">{fmt(m.purchases)}</td>
                        <td class="num">{fmt(Math.round(m.monetary * 100) / 100)}</td>
                      </tr>
                    ))}
                  </FigureTable>
                ) : (
                  <p>No members on this page.</p>
                )}
                <nav class="pager" aria-label="Member pages">
                  {pageNo > 0 ? (
                    <a
                      href={href('/dashboard/segments', site.id, {
                        segment: selected,
                        page: pageNo - 1,
                      })}
                    >
                      Previous page
                    </a>
                  ) : null}
                  {members?.more ? (
                    <a
                      href={href('/dashboard/segments', site.id, {
                        segment: selected,
                        page: pageNo + 1,
                      })}
                    >
                      Next page
                    </a>
                  ) : null}
                </nav>
              </>
            )}
          </section>
        ) : null}
      </Layout>,
    );
  });

  app.get('/dashboard/segments/:name/export', (c) => {
    const { site, refused } = pageSite(c, deps);
    if (refused) return refused;
    return membersExport(c, storage, site, c.req.param('name'), c.req.query('format') ?? 'csv');
  });

  return app;
}
