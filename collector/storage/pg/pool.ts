/**
 * The PostgreSQL backend's connection pool. What node-postgres does not do by default and the
 * collector needs:
 * - numbers come back as numbers: `int8` (our epoch-ms columns, `count(*)`) and `numeric`
 *   (`sum()` of a bigint) are strings in pg by default, which the code would silently compare and
 *   add as text. Every value we store stays far below 2^53 (exact in a double). Set on this pool's
 *   clients only (`types`), not process-wide: other users of `pg` in the process keep pg's default.
 * - an `error` listener: an idle client that the server ends (a restart, `pg_terminate_backend`,
 *   an idle timeout) emits `error` on the pool, and an EventEmitter's `error` with no listener ends
 *   the process. The pool drops that client and opens a new one when asked: logging is enough.
 * - `application_name`, so an operator sees the collector's sessions in `pg_stat_activity`.
 * - idle connections kept open (`idleTimeoutMillis: 0`; pg-pool closes them after 10 s idle by
 *   default). The pool is small and its connections are what the collector serves with, so
 *   closing them only makes the next burst pay for new backends. pg-pool's idle timeout also arms
 *   a timer on every release and clears it on the next checkout, once per write job and per
 *   grouped read: without it, an ingest job cost ~11 % less collector CPU (nine alternating runs
 *   of 5,000 one-event jobs, 10 at a time).
 *
 * And one it does not do at all: `pool.end()` resolves as soon as the pool has let go of its
 * clients, before their connections have closed (it asks each to end and does not wait). A session
 * the server still has then may be ended by it (`DROP DATABASE … WITH (FORCE)`, a shutdown) and its
 * client emits `error` after the storage said it was closed. `endPool` waits for them.
 */
import pg from 'pg';

/** Connections when the setting is left out: PostgreSQL's default `max_connections` is 100. */
export const DEFAULT_POOL_SIZE = 10;

/** How long a job or a read waits for a connection before it fails. */
export const CONNECT_TIMEOUT_MS = 30_000;

const OID_INT8 = 20;
const OID_NUMERIC = 1700;

const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === OID_INT8 || oid === OID_NUMERIC) return (text: string) => Number(text);
    return pg.types.getTypeParser(oid, format);
  }) as pg.CustomTypesConfig['getTypeParser'],
};

export interface PoolOptions {
  /** Connections at most (each serves one write job or one read at a time). */
  size?: number | undefined;
  /** Told when an idle connection fails (the server ended it); the pool replaces it when needed. */
  onError?: ((message: string) => void) | undefined;
}

export function createPool(url: string, opts: PoolOptions = {}): pg.Pool {
  const size = opts.size ?? DEFAULT_POOL_SIZE;
  if (!Number.isInteger(size) || size < 1) {
    throw new Error(`microseg: the PostgreSQL pool size must be a whole number ≥ 1 (got ${size})`);
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: size,
    types,
    application_name: 'microseg',
    // A safety net, not a limit: a job holds its connection, so code inside a job that waited for
    // a second one (a read through the pool rather than the job's tx) could wait for ever once
    // every connection is held. It fails instead (a storage failure: 503, Retry-After).
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    idleTimeoutMillis: 0,
  });
  trackConnections(pool);
  // The error's message only: pg's messages name the server's condition, never the URL.
  const onError = opts.onError ?? ((m: string) => console.error(`microseg: PostgreSQL: ${m}`));
  pool.on('error', (err) => onError(err.message));
  return pool;
}

/**
 * A connection of `pool` for a write job (write.ts): `pool.connect()`, without pg-pool's
 * connection timer when an idle connection is there for every caller already waiting and for this
 * one. pg-pool hands it over on the next tick, so this checkout cannot wait, yet pg-pool would arm
 * a CONNECT_TIMEOUT_MS timer and clear it on every checkout: an ingest job cost 8–14 % less
 * collector CPU without it (seven alternating runs of 5,000 one-event jobs, 10 at a time). A
 * checkout that may wait (no idle connection for it) keeps the timeout. pg-pool reads the option
 * when `connect` is called, so it is set aside for that call alone.
 */
export function checkout(pool: pg.Pool): Promise<pg.PoolClient> {
  if (pool.idleCount <= pool.waitingCount) return pool.connect();
  const { connectionTimeoutMillis } = pool.options;
  pool.options.connectionTimeoutMillis = 0;
  try {
    return pool.connect();
  } finally {
    pool.options.connectionTimeoutMillis = connectionTimeoutMillis;
  }
}

/** How long `endPool` waits for the server to close a connection before closing it from here. */
export const CLOSE_WAIT_MS = 5000;

/** The connections of each tracked pool not closed yet. */
const openClients = new WeakMap<pg.Pool, Set<pg.PoolClient>>();

/**
 * Follows the connections `pool` opens from now on until each is closed, for `endPool`. (The pool
 * tells of a new connection, `connect`, but of a closed one only when it removed it itself.)
 */
export function trackConnections<P extends pg.Pool>(pool: P): P {
  const open = new Set<pg.PoolClient>();
  openClients.set(pool, open);
  pool.on('connect', (client) => {
    open.add(client);
    client.once('end', () => open.delete(client));
  });
  return pool;
}

/**
 * Ends `pool` (a pool made by `createPool` or given to `trackConnections`) and resolves once every
 * connection it opened is closed: the server has ended those sessions, and nothing of the pool
 * can emit an error any more. A connection the server does not close within `waitMs` (a server
 * cut off by the network) is closed from this side, so that a shutdown does not wait for TCP.
 */
export async function endPool(pool: pg.Pool, waitMs = CLOSE_WAIT_MS): Promise<void> {
  const open = openClients.get(pool);
  if (!open) throw new Error('endPool: the pool was not made by createPool or trackConnections');
  await pool.end();
  // Still in the set: its `end` has not been told yet, and will be.
  const closing = [...open];
  if (closing.length === 0) return;
  await new Promise<void>((done) => {
    let left = closing.length;
    const timer = setTimeout(() => {
      for (const c of closing) c.connection.stream.destroy();
    }, waitMs);
    for (const c of closing) {
      c.once('end', () => {
        if (--left > 0) return;
        clearTimeout(timer);
        done();
      });
    }
  });
}
