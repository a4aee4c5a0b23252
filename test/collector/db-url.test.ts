/**
 * The database URL's password is never printed: redactDbUrl hides it in every form libpq accepts
 * and leaves file paths alone; the start banner, the JSON log, doctor and the data commands'
 * errors print the redacted setting.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isPostgresUrl, redactDbUrl } from '../../collector/config/db-url.ts';
import { cli } from '../cli-capture.ts';

describe('redactDbUrl', () => {
  it('hides the password of a postgres URL, keeping user, host, port, database and options', () => {
    expect(redactDbUrl('postgres://microseg:s3cret@db.internal:5432/microseg')).toBe(
      'postgres://microseg:***@db.internal:5432/microseg',
    );
    expect(redactDbUrl('postgresql://u:p@localhost/db?sslmode=require')).toBe(
      'postgresql://u:***@localhost/db?sslmode=require',
    );
    expect(redactDbUrl('POSTGRES://u:p@h/db')).toBe('POSTGRES://u:***@h/db');
  });

  it('hides passwords holding the characters a URL parser would split at', () => {
    for (const pw of ['p@ss', 'p/ss', 'p#ss', 'p?ss', 'p:ss', 'p%40ss', '']) {
      const shown = redactDbUrl(`postgres://u:${pw}@h:5432/db`);
      expect(shown).toBe('postgres://u:***@h:5432/db');
    }
  });

  it('hides a password given as a query parameter', () => {
    expect(redactDbUrl('postgres://u@h/db?password=s3cret&sslmode=verify-full')).toBe(
      'postgres://u@h/db?password=***&sslmode=verify-full',
    );
    expect(redactDbUrl('postgresql:///db?host=/run/pg&sslpassword=k3y')).toBe(
      'postgresql:///db?host=/run/pg&sslpassword=***',
    );
  });

  it('leaves URLs without a password and file paths as they are', () => {
    for (const db of [
      'postgres://u@h/db',
      'postgres://h/db',
      'postgresql:///db?host=/run/postgresql',
      '/var/lib/microseg/microseg.db',
      './data/microseg.db',
      'data/user:pass@odd.db',
      ':memory:',
      'C:\\microseg\\data.db',
    ]) {
      expect(redactDbUrl(db)).toBe(db);
    }
  });

  it('tells a PostgreSQL URL from a file', () => {
    expect(isPostgresUrl('postgres://u@h/db')).toBe(true);
    expect(isPostgresUrl('postgresql://u@h/db')).toBe(true);
    expect(isPostgresUrl('./postgres://x')).toBe(false);
    expect(isPostgresUrl('/data/microseg.db')).toBe(false);
  });
});

describe('printed settings', () => {
  const url = 'postgres://microseg:hunter2-secret@db.internal:5432/microseg';
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('doctor prints the database without its password', async () => {
    vi.stubEnv('MICROSEG_DB', url);
    vi.stubEnv('MICROSEG_SECRET', 'a-test-signing-key-0123456789abcdef');
    const r = await cli('doctor', '--site', 'demo');
    expect(r.out).toContain('postgres://microseg:***@db.internal:5432/microseg');
    expect(`${r.out}${r.err}`).not.toContain('hunter2');
  });

  it('a data command that cannot reach the database does not print its password', async () => {
    // A closed port on this machine: refused at once.
    const unreachable = 'postgres://microseg:hunter2-secret@127.0.0.1:1/microseg';
    const r = await cli('export', '--db', unreachable, '--site', 'demo', '--segment', 'key:*');
    expect(r.code).not.toBe(0);
    expect(r.err).toContain('cannot open the database at postgres://microseg:***@127.0.0.1:1');
    expect(`${r.out}${r.err}`).not.toContain('hunter2');
  });

  it('doctor says a PostgreSQL database needs MICROSEG_SECRET, and names no key file', async () => {
    vi.stubEnv('MICROSEG_DB', url);
    vi.stubEnv('MICROSEG_SECRET', '');
    const r = await cli('doctor', '--site', 'demo');
    expect(r.code).not.toBe(0);
    expect(`${r.out}${r.err}`).toContain('MICROSEG_SECRET is required with a PostgreSQL database');
    expect(`${r.out}${r.err}`).not.toContain('hunter2');
    expect(`${r.out}${r.err}`).not.toContain('created at the first start');
  });

  it('backup refusing the database does not print its password', async () => {
    const r = await cli('backup', '--db', url, '--out', '/nonexistent/backup.db');
    expect(r.code).not.toBe(0);
    expect(r.err).toContain('postgres://microseg:***@db.internal');
    expect(r.err).toContain('is a PostgreSQL database: back it up with pg_dump');
    expect(`${r.out}${r.err}`).not.toContain('hunter2');
  });
});
