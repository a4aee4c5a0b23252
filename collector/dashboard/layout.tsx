/**
 * The frame of every dashboard page: skip link, header with the site picker and sign-out, the
 * navigation, and the main region. Server-rendered HTML that works without JavaScript; the one
 * client script (`/dashboard/assets/app.js`) only draws charts and adds live updates.
 */
import type { Context } from 'hono';
import { html } from 'hono/html';
import type { Child } from 'hono/jsx';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { SiteConfig } from '../config/config.ts';
import type { Deps } from '../http/app.ts';
import type { DashEnv } from './guard.ts';
import { CSRF_FIELD } from './guard.ts';
import type { DashSession } from './session.ts';

/** The pages in the navigation, in its order. */
export type NavKey = 'overview' | 'segments' | 'rules' | 'goals' | 'live' | 'deliveries';

const NAV: { key: NavKey; label: string; path: string }[] = [
  { key: 'overview', label: 'Overview', path: '/dashboard/' },
  { key: 'segments', label: 'Segments', path: '/dashboard/segments' },
  { key: 'rules', label: 'Rules', path: '/dashboard/rules' },
  { key: 'goals', label: 'Goals', path: '/dashboard/goals' },
  { key: 'live', label: 'Live', path: '/dashboard/live' },
  { key: 'deliveries', label: 'Deliveries', path: '/dashboard/deliveries' },
];

/** `path` with `?site=` (and `params`) added: every dashboard link keeps the site in view. */
export function href(
  path: string,
  site: string | undefined,
  params: Record<string, string | number | undefined> = {},
): string {
  const q = new URLSearchParams();
  if (site !== undefined) q.set('site', site);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/** The hidden CSRF field every dashboard form that changes something carries. */
/** What the last action did (a redirect's `?notice=`), announced politely; nothing without one. */
export const Notice = (props: { text: string | null | undefined }) =>
  props.text ? (
    <p class="notice" role="status">
      {props.text}
    </p>
  ) : null;

export const CsrfField = (props: { session: DashSession }) => (
  <input type="hidden" name={CSRF_FIELD} value={props.session.csrf} />
);

export interface LayoutProps {
  /** The page's title (the `<h1>` and the document title). */
  title: string;
  /** The signed-in session: its sites (picker) and CSRF token (sign-out, `<meta name="csrf-token">`). */
  session: DashSession;
  /** The site shown; the picker selects it and nav links keep it. */
  site?: string | undefined;
  /** The nav entry marked current (none on a person page). */
  active?: NavKey | undefined;
  /** The picker keeps these query parameters (e.g. the range) when it changes the site. */
  keep?: Record<string, string> | undefined;
  children?: Child;
}

export function Layout(props: LayoutProps) {
  const { session, site, active } = props;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="csrf-token" content={session.csrf} />
        <title>{`${props.title} · microseg`}</title>
        <link rel="stylesheet" href="/dashboard/assets/app.css" />
        <script src="/dashboard/assets/app.js" defer />
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="top">
          <p class="brand">
            <a href={href('/dashboard/', site)}>microseg</a>
          </p>
          {session.sites.length > 1 && site !== undefined ? (
            <form class="picker" method="get" action="">
              <label for="site-picker">Site</label>
              <select id="site-picker" name="site">
                {session.sites.map((s) => (
                  <option value={s} selected={s === site}>
                    {s}
                  </option>
                ))}
              </select>
              {Object.entries(props.keep ?? {}).map(([k, v]) => (
                <input type="hidden" name={k} value={v} />
              ))}
              <button type="submit">Show</button>
            </form>
          ) : site !== undefined ? (
            <p class="picker">
              Site <strong>{site}</strong>
            </p>
          ) : null}
          <form class="signout" method="post" action="/dashboard/logout">
            <CsrfField session={session} />
            <button type="submit">Sign out</button>
          </form>
        </header>
        <nav aria-label="Dashboard">
          <ul>
            {NAV.map((n) => (
              <li>
                <a
                  class="navlink"
                  href={href(n.path, site)}
                  aria-current={n.key === active ? 'page' : undefined}
                >
                  {n.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <main id="main" tabindex={-1}>
          <h1>{props.title}</h1>
          {props.children}
        </main>
      </body>
    </html>
  );
}

/** A page answer: the doctype, then the JSX; never cached (it holds a site's audience). */
export function page(c: Context, body: Child, status: ContentfulStatusCode = 200) {
  c.header('Cache-Control', 'no-store');
  return c.html(html`<!doctype html>${body}`, status);
}

/** An error page inside the frame (a site the session does not open, an unknown person…). */
export function errorPage(
  c: Context<DashEnv>,
  status: ContentfulStatusCode,
  title: string,
  message: string,
  site?: string,
) {
  return page(
    c,
    <Layout title={title} session={c.var.session} site={site}>
      <p role="alert">{message}</p>
    </Layout>,
    status,
  );
}

/**
 * The site a page shows: `?site=` when the session opens it, else the session's first site. When
 * the session does not open the site named, `refused` is the answer to send (403, or 404 for a
 * site the collector does not have).
 */
export function pageSite(
  c: Context<DashEnv>,
  deps: Deps,
):
  | { site: SiteConfig; refused?: undefined }
  | { site?: undefined; refused: Response | Promise<Response> } {
  const { sites } = c.var.session;
  const id = c.req.query('site') ?? sites[0];
  const site = id === undefined ? undefined : deps.config.sites.get(id);
  if (id !== undefined && site !== undefined && sites.includes(id)) return { site };
  const known = site !== undefined;
  return {
    refused: errorPage(
      c,
      known ? 403 : 404,
      known ? 'Not your site' : 'No such site',
      known
        ? `Your key does not open site "${id}". Sign in with one of its keys to see it.`
        : `This collector has no site "${id}".`,
    ),
  };
}
