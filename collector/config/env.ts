/**
 * The environment, validated like the site config file: every variable the collector reads
 * (LOG_LEVEL, PORT, HOST and the MICROSEG_* ones) is parsed here, once, at start, and a bad
 * value stops the start naming the variable and what it accepts. A MICROSEG_* name this module
 * does not know is refused too: a misspelt one (MICROSEG_DEMO_=0) would otherwise be ignored
 * without a word. Every command of the CLI reads the environment through this module.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { DEFAULT_LIMITS, type RateLimits } from '../http/routes/limits.ts';
import { parseSecrets, SecretError } from '../identity/keys.ts';
import type { Level } from '../log.ts';
import { DEFAULT_PROFILE_CACHE } from '../storage/open.ts';
import { type Config, ConfigError, loadConfig } from './config.ts';

/** How long a client may take to send its request (ms; 0: no limit). */
export interface Timeouts {
  /** The request line and headers (Node's `headersTimeout`; MICROSEG_HEADERS_TIMEOUT_MS). */
  headersMs: number;
  /** The whole request, body included, on every route (Node's `requestTimeout`; MICROSEG_REQUEST_TIMEOUT_MS). */
  requestMs: number;
  /** The body of a browser request, from its headers on (`/v1/collect`: 408 body_timeout; MICROSEG_BODY_TIMEOUT_MS). */
  bodyMs: number;
}

/**
 * Node's defaults (60 s for headers, 300 s for a request) let a client trickling a byte a second
 * hold a connection for minutes. A browser's batch is at most 64 KiB and usually a few hundred
 * bytes: 10 s is far more than it needs; server imports (`/v1/events`, up to 1 MiB) get 30 s.
 */
export const DEFAULT_TIMEOUTS: Timeouts = { headersMs: 10_000, requestMs: 30_000, bodyMs: 10_000 };

export const DEFAULT_PORT = 8787;

/** The collector's settings from the environment, each with its documented default. */
export interface EnvOptions {
  port: number;
  host: string;
  db: string;
  config?: string | undefined;
  demo: boolean;
  /** Serve the dashboard at `/dashboard/` (MICROSEG_DASHBOARD, default on). */
  dashboard?: boolean | undefined;
  logLevel: Level;
  apiKey?: string | undefined;
  /** Signing secret of webhooks whose config names none (MICROSEG_WEBHOOK_SECRET). */
  webhookSecret?: string | undefined;
  /** Signing keys, comma-separated, newest first (MICROSEG_SECRET); else the key file next to the db. */
  secret?: string | undefined;
  /** Public URL of the collector, the base of email links (MICROSEG_PUBLIC_URL). */
  publicUrl?: string | undefined;
  limits: RateLimits;
  timeouts: Timeouts;
  /** Parsed profiles kept in memory for segment reads (MICROSEG_PROFILE_CACHE; 0: none). */
  profileCache: number;
  /** PostgreSQL: connections of the pool (MICROSEG_PG_POOL); the backend's default when undefined. */
  poolSize?: number | undefined;
  /** Port of the metrics listener (MICROSEG_METRICS_PORT; 0: any free one); none when undefined. */
  metricsPort?: number | undefined;
  /** Address of the metrics listener (MICROSEG_METRICS_HOST, default loopback). */
  metricsHost?: string | undefined;
  /** Serves `/metrics` on the public port too, behind this Bearer token (MICROSEG_METRICS_TOKEN). */
  metricsToken?: string | undefined;
  /** Collector processes `serve` runs on one port (MICROSEG_WORKERS, `--workers`; PostgreSQL only). */
  workers: number;
}

/** The most worker processes `serve --workers` runs. */
export const MAX_WORKERS = 64;

/** `--workers` and MICROSEG_WORKERS: a whole number of processes, 1–64. */
export const workersSchema = z
  .string()
  .regex(/^\d+$/, `a whole number of processes, 1–${MAX_WORKERS}`)
  .transform(Number)
  .refine((n) => n >= 1 && n <= MAX_WORKERS, `a whole number of processes, 1–${MAX_WORKERS}`);

/** A TCP port to listen on (0: any free one). */
export function isPort(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 65535;
}

const TRUE = ['1', 'true', 'yes', 'on'];
const FALSE = ['0', 'false', 'no', 'off'];
/** LOG_LEVEL's names; `warning` is what many other tools call `warn`. */
const LEVELS: Record<string, Level> = {
  debug: 'debug',
  info: 'info',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
};

const whole = (what = 'a whole number ≥ 0 (0 turns it off)') =>
  z
    .string()
    .regex(/^\d+$/, what)
    .transform(Number)
    .refine((n) => Number.isSafeInteger(n), what);
const port = z
  .string()
  .regex(/^\d+$/, 'a port number, 0–65535')
  .transform(Number)
  .refine(isPort, 'a port number, 0–65535');
const flag = z
  .string()
  .transform((s) => s.toLowerCase())
  .refine((s) => TRUE.includes(s) || FALSE.includes(s), `one of ${[...TRUE, ...FALSE].join(', ')}`)
  .transform((s) => TRUE.includes(s));
const longString = (min: number) => z.string().min(min, `at least ${min} characters`);
const httpUrl = z
  .string()
  .refine(
    (s) => /^https?:\/\//.test(s) && URL.canParse(s),
    'an http(s) URL, like https://collect.shop.example',
  );

/**
 * Every variable, with its rule. An empty value counts as unset (`MICROSEG_CONFIG=` in a unit
 * file means "none"), as before this module.
 */
const schema = z.object({
  PORT: port.optional(),
  HOST: z.string().optional(),
  LOG_LEVEL: z
    .string()
    .transform((s) => s.toLowerCase())
    .refine((s) => s in LEVELS, 'one of debug, info, warn (or warning), error')
    .transform((s) => LEVELS[s] as Level)
    .optional(),
  MICROSEG_DB: z.string().optional(),
  MICROSEG_CONFIG: z.string().optional(),
  MICROSEG_DEMO: flag.optional(),
  MICROSEG_DASHBOARD: flag.optional(),
  MICROSEG_API_KEY: longString(16).optional(),
  MICROSEG_WEBHOOK_SECRET: longString(16).optional(),
  MICROSEG_SECRET: z
    .string()
    .superRefine((s, ctx) => {
      try {
        parseSecrets(s, 'MICROSEG_SECRET');
      } catch (err) {
        if (!(err instanceof SecretError)) throw err;
        // The message names positions only, never a secret.
        ctx.addIssue({ code: 'custom', message: err.message.replace(/^MICROSEG_SECRET:? ?/, '') });
      }
    })
    .optional(),
  MICROSEG_PUBLIC_URL: httpUrl.optional(),
  MICROSEG_RATE_IP: whole().optional(),
  MICROSEG_RATE_VISITOR: whole().optional(),
  MICROSEG_CONNECTIONS_PER_IP: whole().optional(),
  MICROSEG_HEADERS_TIMEOUT_MS: whole().optional(),
  MICROSEG_REQUEST_TIMEOUT_MS: whole().optional(),
  MICROSEG_BODY_TIMEOUT_MS: whole().optional(),
  MICROSEG_METRICS_PORT: port.optional(),
  MICROSEG_METRICS_HOST: z.string().optional(),
  MICROSEG_METRICS_TOKEN: longString(16).optional(),
  MICROSEG_TRUST_PROXY: z
    .string()
    .transform((s) => s.toLowerCase())
    .refine(
      (s) => s === 'true' || s === 'false' || /^\d+$/.test(s),
      'the number of reverse proxies in front (0, 1, 2, …), or true (one) / false (none)',
    )
    .transform((s) => (s === 'true' ? 1 : s === 'false' ? 0 : Number(s)))
    .optional(),
  MICROSEG_PROFILE_CACHE: whole('a whole number ≥ 0 (0: no cache)').optional(),
  MICROSEG_WORKERS: workersSchema.optional(),
  MICROSEG_PG_POOL: whole('a whole number of connections ≥ 1')
    .refine((n) => n >= 1, 'a whole number of connections ≥ 1')
    .optional(),
});

/** The variables this module reads; any other MICROSEG_* name is a mistake. */
export const ENV_NAMES = Object.keys(schema.shape);

/** Variables whose value is a secret: an error names them, never repeats what they hold. */
const SECRET_NAMES = new Set([
  'MICROSEG_API_KEY',
  'MICROSEG_WEBHOOK_SECRET',
  'MICROSEG_SECRET',
  'MICROSEG_METRICS_TOKEN',
]);

/** Edit distance of two short names (a typo's: a letter missing, added, swapped or wrong). */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      const sub = (row[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      next.push(Math.min((row[j] ?? 0) + 1, (next[j - 1] ?? 0) + 1, sub));
    }
    row = next;
  }
  return row[b.length] ?? 0;
}

/** The variable a misspelt MICROSEG_* name most likely meant, if one is within 2 edits. */
function nearestName(name: string): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const known of ENV_NAMES) {
    const d = distance(name.toUpperCase(), known);
    if (d < bestDistance) [best, bestDistance] = [known, d];
  }
  return best;
}

/**
 * Parses and checks the environment; throws a ConfigError naming every bad variable and what it
 * accepts (never its value when the variable holds a secret).
 */
export function readEnv(env: NodeJS.ProcessEnv = process.env): EnvOptions {
  const input: Record<string, string> = {};
  const problems: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || value === '') continue;
    if (ENV_NAMES.includes(name)) input[name] = value.trim();
    else if (name.startsWith('MICROSEG_')) {
      const near = nearestName(name);
      problems.push(
        `  ${name}: not a variable microseg reads${near ? `: did you mean ${near}?` : ''} (they are ${ENV_NAMES.filter((n) => n.startsWith('MICROSEG_')).join(', ')})`,
      );
    }
  }
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    for (const i of parsed.error.issues) {
      const name = String(i.path[0]);
      // The value as given helps when it was set somewhere out of sight (a unit's EnvironmentFile),
      // but a secret's is never repeated.
      const given = SECRET_NAMES.has(name) ? '' : ` (got ${JSON.stringify(input[name])})`;
      problems.push(`  ${i.path.join('.')}: ${i.message}${given}`);
    }
  }
  if (problems.length > 0 || !parsed.success) {
    throw new ConfigError(`invalid environment:\n${problems.join('\n')}`);
  }
  const e = parsed.data;
  const timeouts: Timeouts = {
    headersMs: e.MICROSEG_HEADERS_TIMEOUT_MS ?? DEFAULT_TIMEOUTS.headersMs,
    requestMs: e.MICROSEG_REQUEST_TIMEOUT_MS ?? DEFAULT_TIMEOUTS.requestMs,
    bodyMs: e.MICROSEG_BODY_TIMEOUT_MS ?? DEFAULT_TIMEOUTS.bodyMs,
  };
  // Node refuses a headers timeout longer than the request's.
  if (timeouts.requestMs > 0 && timeouts.headersMs > timeouts.requestMs) {
    throw new ConfigError(
      `invalid environment:\n  MICROSEG_HEADERS_TIMEOUT_MS: ${timeouts.headersMs} is longer than MICROSEG_REQUEST_TIMEOUT_MS (${timeouts.requestMs})`,
    );
  }
  return {
    port: e.PORT ?? DEFAULT_PORT,
    host: e.HOST ?? '0.0.0.0',
    db: e.MICROSEG_DB ?? resolve('data', 'microseg.db'),
    config: e.MICROSEG_CONFIG,
    demo: e.MICROSEG_DEMO ?? true,
    dashboard: e.MICROSEG_DASHBOARD ?? true,
    logLevel: e.LOG_LEVEL ?? 'info',
    apiKey: e.MICROSEG_API_KEY,
    webhookSecret: e.MICROSEG_WEBHOOK_SECRET,
    secret: e.MICROSEG_SECRET,
    publicUrl: e.MICROSEG_PUBLIC_URL,
    profileCache: e.MICROSEG_PROFILE_CACHE ?? DEFAULT_PROFILE_CACHE,
    poolSize: e.MICROSEG_PG_POOL,
    metricsPort: e.MICROSEG_METRICS_PORT,
    metricsHost: e.MICROSEG_METRICS_HOST,
    metricsToken: e.MICROSEG_METRICS_TOKEN,
    workers: e.MICROSEG_WORKERS ?? 1,
    timeouts,
    limits: {
      ipPerMinute: e.MICROSEG_RATE_IP ?? DEFAULT_LIMITS.ipPerMinute,
      visitorPerMinute: e.MICROSEG_RATE_VISITOR ?? DEFAULT_LIMITS.visitorPerMinute,
      trustProxy: e.MICROSEG_TRUST_PROXY ?? 0,
      connectionsPerIp: e.MICROSEG_CONNECTIONS_PER_IP ?? DEFAULT_LIMITS.connectionsPerIp ?? 0,
    },
  };
}

/** What the site config is loaded with: its file and the environment's fallbacks. */
export interface ConfigSource {
  config?: string | undefined;
  apiKey?: string | undefined;
  webhookSecret?: string | undefined;
}

/**
 * The one way to load the site config: `serve` and every CLI command give it the same fallbacks
 * from the environment (MICROSEG_API_KEY, MICROSEG_WEBHOOK_SECRET), so a file `serve` accepts is
 * accepted by `link`, `export`, `doctor` and `rfm` alike.
 */
export function loadSiteConfig(src: ConfigSource, path = src.config): Config {
  return loadConfig(path, { apiKey: src.apiKey, webhookSecret: src.webhookSecret });
}
