/**
 * The database setting (`MICROSEG_DB`, `--db`) is a SQLite file path or a PostgreSQL URL
 * (`postgres://user:password@host:port/db`). Its password must never reach a banner, a log line or
 * an error message: everything that prints the setting prints `redactDbUrl(db)`.
 */

/** A PostgreSQL URL (`postgres://` or `postgresql://`, any case), as libpq reads them. */
export function isPostgresUrl(db: string): boolean {
  return /^postgres(?:ql)?:\/\//i.test(db);
}

const HIDDEN = '***';

/**
 * The setting as it may be printed: a PostgreSQL URL with its password (in the user part, or a
 * `password=`/`sslpassword=` query parameter) replaced by `***`; anything else, a file path
 * included, unchanged. Works on the text, not through `new URL`: a password with an unescaped
 * `/`, `#` or `@` would make the parse split it elsewhere, and print part of it.
 */
export function redactDbUrl(db: string): string {
  const scheme = /^postgres(?:ql)?:\/\//i.exec(db)?.[0];
  if (scheme === undefined) return db;
  let rest = db.slice(scheme.length);
  // The user part ends at the last `@`: a password may hold `@`s of its own. Reading too far (an
  // `@` in the query) hides too much, never too little.
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const userinfo = rest.slice(0, at);
    const colon = userinfo.indexOf(':');
    if (colon >= 0) rest = `${userinfo.slice(0, colon)}:${HIDDEN}${rest.slice(at)}`;
  }
  rest = rest.replace(/([?&](?:ssl)?password=)[^&#]*/gi, `$1${HIDDEN}`);
  return scheme + rest;
}
