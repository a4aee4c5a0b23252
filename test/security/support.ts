/**
 * A real collector for the security suites: `start()` (the same function `microseg serve` runs)
 * on port 0 over a temp SQLite file (a database of its own on PostgreSQL in suite-pg:
 * test/support/backend.ts), with a site config file, and raw HTTP requests (node:http)
 * so a test sets any header a client could, `Host` included.
 */
import { request as httpRequest } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../collector/log.ts';
import { start, type Running, type ServeOptions } from '../../collector/http/server.ts';
import { ensureBuilt } from '../collector-process.ts';
import { tempDir } from '../helpers.ts';
import { adoptStorage, createTestDatabaseFor } from '../support/backend.ts';

export const API_KEY = 'security-test-key-0123456789';
/** `/metrics` on the public port, behind this Bearer token. */
export const METRICS_TOKEN = 'security-metrics-token-0123456789';

export interface Collector {
  running: Running;
  url: string;
  port: number;
  db: string;
  /** One HTTP request; a body that is not a string or Buffer goes as JSON. */
  http(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<Answer>;
  /** The same with the API key. */
  api(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<Answer>;
  close(): Promise<void>;
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json(): any;
}

/** A collector on 127.0.0.1:0 with `config` (a config file object; none: the zero-config default). */
export async function collector(
  config?: unknown,
  opts: Partial<ServeOptions> = {},
  log: Logger = () => {},
): Promise<Collector> {
  await ensureBuilt();
  const tmp = tempDir();
  const database = await createTestDatabaseFor(tmp.dir, 'sec.db');
  const { db } = database;
  let configPath: string | undefined;
  if (config !== undefined) {
    configPath = join(tmp.dir, 'sites.json');
    writeFileSync(configPath, JSON.stringify(config));
  }
  const running = await start(
    {
      port: 0,
      host: '127.0.0.1',
      db,
      config: configPath,
      demo: true,
      logLevel: 'error',
      limits: { ipPerMinute: 0, visitorPerMinute: 0, trustProxy: 0 },
      apiKey: API_KEY,
      metricsToken: METRICS_TOKEN,
      ...(database.secret ? { secret: database.secret } : {}),
      ...opts,
    },
    log,
  );
  adoptStorage(running.storage, db);
  const addr = running.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const http = (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) =>
    new Promise<Answer>((ok, fail) => {
      const raw = body === undefined || typeof body === 'string' || Buffer.isBuffer(body);
      const data = raw ? (body as string | Buffer | undefined) : JSON.stringify(body);
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port,
          path,
          method,
          headers: { 'content-type': 'text/plain', ...headers },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => chunks.push(d));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            ok({
              status: res.statusCode!,
              headers: res.headers,
              text,
              json: () => JSON.parse(text),
            });
          });
        },
      );
      req.on('error', fail);
      req.end(data);
    });
  return {
    running,
    url: running.url,
    port,
    db,
    http,
    api: (method, path, body, headers = {}) =>
      http(method, path, body, {
        authorization: `Bearer ${API_KEY}`,
        'content-type': 'application/json',
        ...headers,
      }),
    async close() {
      await running.close();
      await database.drop();
      tmp.cleanup();
    },
  };
}

let seq = 0;
/** A valid browser event. */
export function event(over: Record<string, unknown> = {}) {
  seq++;
  const id = `sec${seq}_${Math.random().toString(36).slice(2, 8)}`;
  return { id, type: 'page_view', ts: Date.now(), url: 'http://localhost/p', ...over };
}

/** JSON text of `[[[…]]]`, `depth` levels deep (JSON.stringify itself cannot write it). */
export const deepArray = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

/** JSON text of `{"a":{"a":…}}`, `depth` levels deep. */
export const deepObject = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

const HOLE = '@@deep@@';
/** A JSON body whose `hole` values are replaced by the raw JSON text `deep`. */
export function withDeep(body: (hole: string) => unknown, deep: string): string {
  return JSON.stringify(body(HOLE)).split(`"${HOLE}"`).join(deep);
}
