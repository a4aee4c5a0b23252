/**
 * Sign-in and sign-out. `POST /dashboard/login` takes an API key in the form field `key` (never
 * a URL, never logged, never written back into the page), and sets the session cookie when the
 * key opens at least one site. Wrong keys are counted per client address (`loginLimiter`).
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { DASHBOARD } from '../../shared/limits.ts';
import type { Deps } from '../http/app.ts';
import { sitesForKey } from '../http/auth.ts';
import { type DashEnv, loginAddress, loginLimiter, overHttps, sameOrigin } from './guard.ts';
import { page } from './layout.tsx';
import {
  issueSession,
  readSession,
  SESSION_COOKIE,
  SESSION_PATH,
  sessionId,
  sitesOfTag,
} from './session.ts';

function LoginPage(props: { message?: string | undefined }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>Sign in · microseg</title>
        <link rel="stylesheet" href="/dashboard/assets/app.css" />
      </head>
      <body class="login">
        <main id="main">
          <h1>microseg dashboard</h1>
          <form method="post" action="/dashboard/login" class="card">
            <p>
              Sign in with an API key of your site (a key from the site config's apiKeys, or
              MICROSEG_API_KEY).
            </p>
            {props.message ? (
              <p role="alert" class="error" id="login-error">
                {props.message}
              </p>
            ) : null}
            <label for="key">API key</label>
            <input
              id="key"
              name="key"
              type="password"
              required
              autocomplete="current-password"
              maxlength={DASHBOARD.keyLength}
              aria-describedby={props.message ? 'login-error' : undefined}
            />
            <button type="submit">Sign in</button>
          </form>
        </main>
      </body>
    </html>
  );
}

export function loginRoutes(deps: Deps) {
  const app = new Hono();
  const limiter = loginLimiter();

  app.get('/dashboard/login', (c) => {
    const token = readSession(deps.keys, getCookie(c, SESSION_COOKIE), deps.now());
    if (token && sitesOfTag(deps.config, deps.keys, token.tag).length > 0)
      return c.redirect('/dashboard/', 303);
    return page(c, <LoginPage />);
  });

  app.post(
    '/dashboard/login',
    bodyLimit({
      maxSize: DASHBOARD.loginBodyBytes,
      onError: (c) => page(c, <LoginPage message="That form was too large." />, 413),
    }),
    async (c) => {
      if (!sameOrigin(c, deps))
        return page(c, <LoginPage message="Sign in from this dashboard's own page." />, 403);
      const now = deps.now();
      const ip = loginAddress(c, deps);
      const wait = limiter.blocked(ip, now);
      if (wait > 0) {
        c.header('Retry-After', String(wait));
        return page(
          c,
          <LoginPage
            message={`Too many wrong keys from this address: try again in ${Math.ceil(wait / 60)} min.`}
          />,
          429,
        );
      }
      const body = await c.req.parseBody();
      const key = typeof body.key === 'string' ? body.key.trim() : '';
      const sites =
        key && key.length <= DASHBOARD.keyLength ? sitesForKey(deps.config, key) : new Set();
      if (sites.size === 0) {
        limiter.failed(ip, now);
        return page(c, <LoginPage message="That key opens no site of this collector." />, 401);
      }
      const { value } = issueSession(deps.keys, key, now, DASHBOARD.sessionMs);
      setCookie(c, SESSION_COOKIE, value, {
        path: SESSION_PATH,
        httpOnly: true,
        sameSite: 'Strict',
        secure: overHttps(c, deps),
        maxAge: Math.floor(DASHBOARD.sessionMs / 1000),
      });
      return c.redirect('/dashboard/', 303);
    },
  );

  return app;
}

/**
 * `POST /dashboard/logout` (behind the session and CSRF checks): the session is recorded as
 * signed out until its own expiry (one row; every process refuses it from the next request on),
 * this process's Live streams of it end at once, and the cookie is cleared.
 */
export function logoutRoutes(deps: Deps) {
  const app = new Hono<DashEnv>();
  app.post('/dashboard/logout', async (c) => {
    const session = c.var.session;
    await deps.storage.write((tx) => tx.signOut(sessionId(session), session.exp));
    deps.live.endSession(session.csrf);
    deleteCookie(c, SESSION_COOKIE, {
      path: SESSION_PATH,
      httpOnly: true,
      sameSite: 'Strict',
      secure: overHttps(c, deps),
    });
    return c.redirect('/dashboard/login', 303);
  });
  return app;
}
