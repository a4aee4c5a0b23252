/**
 * The session's CSRF token for the client's own requests: every page carries it in
 * `<meta name="csrf-token">`; `dashFetch` sends it as `X-CSRF-Token` (the header the server's
 * `requireCsrf` reads), same-origin only.
 */
export function csrfToken(): string {
  return document.querySelector<HTMLMetaElement>('meta[name="csrf-token"]')?.content ?? '';
}

/** `fetch` for a dashboard route that changes something (POST, DELETE…). */
export function dashFetch(url: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set('X-CSRF-Token', csrfToken());
  return fetch(url, { ...init, headers, credentials: 'same-origin' });
}
