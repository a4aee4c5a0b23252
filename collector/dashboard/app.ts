/**
 * The dashboard at `/dashboard/` (off with MICROSEG_DASHBOARD=0): server-rendered pages behind a
 * session cookie, on the same storage functions as the JSON APIs. Each page is a module of
 * ./pages exporting `(deps) => Hono<DashEnv>`, mounted here behind the session and CSRF checks;
 * sign-in and the client files are the only routes open without a session.
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { DASHBOARD } from '../../shared/limits.ts';
import type { Deps } from '../http/app.ts';
import { assetRoutes } from './assets.ts';
import { type DashEnv, requireCsrf, requireSession } from './guard.ts';
import { loginRoutes, logoutRoutes } from './login.tsx';
import { deliveriesPage } from './pages/deliveries.tsx';
import { goalsPage } from './pages/goals.tsx';
import { livePage } from './pages/live.tsx';
import { overviewPage } from './pages/overview.tsx';
import { personPage } from './pages/person.tsx';
import { rulesPage } from './pages/rules.tsx';
import { segmentsPage } from './pages/segments.tsx';

/**
 * A dashboard page module: its routes with their full paths (`app.get('/dashboard/live', …)`:
 * Hono would fold a mounted `/` into `/dashboard`, and the overview is `/dashboard/`).
 */
export type DashPage = (deps: Deps) => Hono<DashEnv>;

/** Every page, behind the session: add a page by adding its module here. */
const PAGES: DashPage[] = [
  overviewPage,
  segmentsPage,
  rulesPage,
  goalsPage,
  personPage,
  livePage,
  deliveriesPage,
];

/**
 * The pages' policy: scripts and styles from the collector only (no inline script or style
 * attribute runs), no framing, forms post to the dashboard only. Charts read their data from
 * `data-*` attributes, so no inline script is needed.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

export function dashboardRoutes(deps: Deps) {
  const dash = new Hono<DashEnv>();
  dash.use('/dashboard/*', async (c, next) => {
    await next();
    c.res.headers.set('Content-Security-Policy', DASHBOARD_CSP);
    // The pages hold a site's audience: same-origin only, never another site's opener.
    c.res.headers.set('Cross-Origin-Opener-Policy', 'same-origin');
  });
  dash.get('/dashboard', (c) => c.redirect('/dashboard/', 301));
  dash.route('/', assetRoutes());
  dash.route('/', loginRoutes(deps));
  const signedIn = new Hono<DashEnv>();
  signedIn.use(
    '/dashboard/*',
    requireSession(deps),
    // Read before the CSRF check parses it: a form's body is bounded like every other.
    bodyLimit({
      maxSize: DASHBOARD.formBytes,
      onError: (c) =>
        c.text(`refused: a dashboard form is at most ${DASHBOARD.formBytes} bytes`, 413),
    }),
    requireCsrf(deps),
  );
  signedIn.route('/', logoutRoutes(deps));
  for (const p of PAGES) signedIn.route('/', p(deps));
  dash.route('/', signedIn);
  return dash;
}
