/**
 * What the PostgreSQL backend's modules query through: the pool (a read outside any write job) or
 * the client holding a write job's transaction. Every module takes one per call, so the same code
 * reads committed rows from the pool and the transaction's own rows from the job's client.
 */
import type pg from 'pg';

export type Queryable = Pick<pg.ClientBase, 'query'>;
