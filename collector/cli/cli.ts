/** The `microseg` command line: one function per command, each with its own `--help`. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import cluster from 'node:cluster';
import { ConfigError } from '../config/config.ts';
import { loadSiteConfig, MAX_WORKERS, workersSchema } from '../config/env.ts';
import { jsonLogger } from '../log.ts';
import { reportListening, runPrimary, workersProblem } from './cluster.ts';
import { redactDbUrl } from '../config/db-url.ts';
import { isWildcardHost, ownOrigins } from '../http/origins.ts';
import { isPort, optionsFromEnv, serveClusterMetrics, start } from '../http/server.ts';
import { keysForDatabase, SecretError } from '../identity/keys.ts';
import {
  DEFAULT_LINK_TTL_DAYS,
  linkInput,
  makeLink,
  MAX_LINK_TTL_DAYS,
} from '../identity/links.ts';
import { describe } from '../ingest/validate.ts';
import { doctorCommand } from './doctor.ts';
import { backupCommand } from './backup.ts';
import { seedCommand } from './seed.ts';
import { trainCommand } from './train.ts';
import {
  deliveriesCommand,
  exportCommand,
  fail,
  forgetCommand,
  help,
  quarantineCommand,
  rfmCommand,
} from './cli-data.ts';

export interface Command {
  summary: string;
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  run(values: Record<string, string | boolean | undefined>, positionals: string[]): Promise<number>;
}

/**
 * Where a link points without --collector: what the running collector itself uses for the links
 * of POST /v1/links — MICROSEG_PUBLIC_URL, else the first origin of its listen address (HOST and
 * PORT, as `serve` reads them). Null when PORT is 0: no address is known before the start.
 */
function linkBase(
  opts: { publicUrl?: string | undefined; host: string; port: number },
  plain: boolean,
) {
  if (opts.publicUrl) return new URL(opts.publicUrl).origin;
  if (opts.port === 0) return null;
  const base = ownOrigins(undefined, opts.host, opts.port)[0] ?? null;
  // A link in an email is opened on another machine: localhost there is not this collector.
  // (A plain link goes to the page itself: nothing of it points at the collector.)
  if (base && !plain && isWildcardHost(opts.host)) {
    console.error(
      `microseg link: MICROSEG_PUBLIC_URL is not set: the link starts with ${base}, which only this machine reaches; set MICROSEG_PUBLIC_URL (or --collector) to the collector's public address`,
    );
  }
  return base;
}

/**
 * A listener that cannot start, in words a newcomer can act on (Node's own is a stack trace):
 * undefined for any other error. `npm start` with a collector already on 8787 is the usual one.
 */
function listenProblem(
  err: unknown,
  opts: { port: number; host: string; metricsPort?: number | undefined },
): string | undefined {
  const e = err as NodeJS.ErrnoException & { port?: number; address?: string; hostname?: string };
  const port = e.port ?? opts.port;
  const metrics = opts.metricsPort !== undefined && port === opts.metricsPort && port !== opts.port;
  const portSetting = metrics ? '--metrics-port or MICROSEG_METRICS_PORT' : '--port or PORT';
  const hostSetting = metrics ? 'MICROSEG_METRICS_HOST' : '--host or HOST';
  switch (e.code) {
    case 'EADDRINUSE':
      return `port ${port} on ${e.address ?? opts.host} is already in use (another collector, or another program): stop it, or choose another port (${portSetting})`;
    case 'EACCES':
      return `not allowed to listen on port ${port} (ports below 1024 need privileges): choose one above 1023 (${portSetting}) and put a reverse proxy in front for 443 (docs/deploy.md)`;
    case 'EADDRNOTAVAIL':
      return `${e.address ?? opts.host} is not an address of this machine: set the listen address (${hostSetting}; 0.0.0.0 for every interface, 127.0.0.1 for this machine only)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `the listen address ${e.hostname ?? opts.host} does not resolve: set it (${hostSetting}) to an address of this machine (0.0.0.0, 127.0.0.1, ::)`;
    default:
      return undefined;
  }
}

/** What `serve` prints once it listens. */
function banner(base: string, demo: boolean, db: string, metricsUrl: string | undefined): string {
  return `microseg collector on ${base}${demo ? `\n  demo shop:  ${base}/demo/` : ''}
  snippet:    ${base}/ms.js
  health:     ${base}/healthz
  database:   ${redactDbUrl(db)}${metricsUrl ? `\n  metrics:    ${metricsUrl}/metrics` : ''}`;
}

/** `microseg link`: one email link for one contact, signed (through /r) or plain. */
const linkCommand: Command = {
  summary: 'print a signed email link (or a plain one) that identifies a contact',
  usage: `microseg link --site S --contact C --to URL [--campaign X] [--category Y]
              [--medium email] [--source S] [--ttl DAYS] [--plain]

Prints COLLECTOR/r?… : the collector checks the signature, records an email_click for the
contact and redirects to URL with ms_t (identity token), utm_* and ms_cat appended. With
--plain, prints URL itself with those parameters (no redirect, no click recorded).

Options:
  --site S          site id from the site config
  --contact C       the contact's id in your email tool or CRM (encrypted in the link)
  --to URL          target page; its origin must be one of the site's origins
  --campaign X      utm_campaign
  --category Y      ms_cat: the category the click tags
  --medium M        utm_medium (default email)
  --source S        utm_source
  --ttl DAYS        link lifetime in days (default ${DEFAULT_LINK_TTL_DAYS}, at most ${MAX_LINK_TTL_DAYS})
  --plain           a plain link instead of a /r redirect
  --collector URL   the collector's public URL (default MICROSEG_PUBLIC_URL, else the
                    address HOST and PORT give, e.g. http://localhost:8787)
  --config FILE     site config JSON (MICROSEG_CONFIG)
  --db FILE         the collector's SQLite file, whose folder holds the key file (MICROSEG_DB)
  -h, --help        this help

Keys: MICROSEG_SECRET when set, else the key file next to the database (created on first use),
so run this where the collector runs, with the same environment.`,
  options: {
    site: { type: 'string' },
    contact: { type: 'string' },
    to: { type: 'string' },
    campaign: { type: 'string' },
    category: { type: 'string' },
    medium: { type: 'string' },
    source: { type: 'string' },
    ttl: { type: 'string' },
    plain: { type: 'boolean' },
    collector: { type: 'string' },
    config: { type: 'string' },
    db: { type: 'string' },
    help,
  },
  async run(v) {
    for (const name of ['site', 'contact', 'to'] as const)
      if (typeof v[name] !== 'string') return fail('link', `--${name} is required`);
    const opts = optionsFromEnv();
    const config = loadSiteConfig(opts, typeof v.config === 'string' ? v.config : opts.config);
    const site = config.sites.get(v.site as string);
    if (!site)
      return fail(
        'link',
        `no site "${v.site}" in the site config (${[...config.sites.keys()].join(', ')})`,
      );
    const collector =
      typeof v.collector === 'string' ? v.collector : linkBase(opts, v.plain === true);
    if (collector === null)
      return fail('link', 'PORT is 0 (any free port): give the collector with --collector URL');
    if (!URL.canParse(collector)) return fail('link', `--collector ${collector} is not a URL`);
    const ttl = v.ttl === undefined ? undefined : Number(v.ttl);
    const input = linkInput.safeParse({
      contact: v.contact,
      to: v.to,
      campaign: v.campaign,
      category: v.category,
      medium: v.medium ?? 'email',
      source: v.source,
      ttlDays: ttl,
    });
    if (!input.success) return fail('link', describe(input.error));
    const keys = keysForDatabase(typeof v.db === 'string' ? v.db : opts.db, opts.secret);
    const made = makeLink(keys.ring, site, collector, input.data, Date.now(), v.plain === true);
    if (!made.ok) return fail('link', made.message);
    console.log(made.url);
    return 0;
  },
};

export const commands: Record<string, Command> = {
  serve: {
    summary: 'run the collector (HTTP server on one SQLite file or a PostgreSQL database)',
    usage: `microseg serve [--port N] [--host H] [--db FILE] [--config FILE] [--no-demo] [--metrics-port N]
               [--workers N]

Options (each overrides its environment variable):
  --port N        listen port (PORT, default 8787)
  --host H        listen address (HOST, default 0.0.0.0)
  --db FILE       SQLite file or postgres:// URL (MICROSEG_DB, default ./data/microseg.db)
  --config FILE   site config JSON (MICROSEG_CONFIG, default: the built-in "demo" site)
  --no-demo       do not serve /demo (MICROSEG_DEMO=0 or false)
  --metrics-port N  serve /metrics on this port of MICROSEG_METRICS_HOST (default 127.0.0.1)
                    (MICROSEG_METRICS_PORT, default: no metrics listener)
  --workers N     N collector processes on the one port, 1–${MAX_WORKERS} (MICROSEG_WORKERS,
                  default 1); PostgreSQL only, with MICROSEG_SECRET set
  -h, --help      this help`,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      db: { type: 'string' },
      config: { type: 'string' },
      'no-demo': { type: 'boolean' },
      'metrics-port': { type: 'string' },
      workers: { type: 'string' },
      help,
    },
    async run(v) {
      const opts = optionsFromEnv();
      if (v.port !== undefined) opts.port = /^\d+$/.test(String(v.port)) ? Number(v.port) : NaN;
      if (!isPort(opts.port)) return fail('serve', `invalid port ${v.port}: 0–65535`);
      if (typeof v.host === 'string') opts.host = v.host;
      if (typeof v.db === 'string') opts.db = v.db;
      if (typeof v.config === 'string') opts.config = v.config;
      if (v['no-demo']) opts.demo = false;
      if (typeof v['metrics-port'] === 'string') {
        const n = Number(v['metrics-port']);
        if (!isPort(n)) return fail('serve', `invalid metrics port ${v['metrics-port']}`);
        opts.metricsPort = n;
      }
      if (typeof v.workers === 'string') {
        const n = workersSchema.safeParse(v.workers);
        if (!n.success)
          return fail('serve', `invalid --workers ${v.workers}: ${n.error.issues[0]?.message}`);
        opts.workers = n.data;
      }
      // The primary of `--workers N` forks and watches; each worker (below) is a collector.
      const workers = opts.workers ?? 1;
      if (workers > 1 && cluster.isPrimary) {
        const why = workersProblem(workers, opts.db, opts.secret);
        if (why) return fail('serve', why);
        // Checked once here rather than N times in the workers (a ConfigError ends the start).
        loadSiteConfig(opts);
        const log = jsonLogger(opts.logLevel);
        // One metrics listener, in the primary, summing the workers' registries.
        let metrics: Awaited<ReturnType<typeof serveClusterMetrics>> | undefined;
        if (opts.metricsPort !== undefined) {
          try {
            metrics = await serveClusterMetrics({
              metricsPort: opts.metricsPort,
              metricsHost: opts.metricsHost,
            });
          } catch (err) {
            const why = listenProblem(err, opts);
            if (why === undefined) throw err;
            console.error(`microseg serve: ${why}`);
            return 1;
          }
        }
        const code = await runPrimary(workers, {
          log,
          banner: (first, pids) =>
            console.log(`${banner(first.url, first.demo, opts.db, metrics?.url)}
  workers:    ${pids.length} processes (${pids.join(', ')}) on one port`),
        });
        metrics?.close();
        return code;
      }
      let running: Awaited<ReturnType<typeof start>>;
      try {
        running = await start(opts);
      } catch (err) {
        const why = listenProblem(err, opts);
        if (why === undefined) throw err;
        console.error(`microseg serve: ${why}`);
        return 1;
      }
      if (cluster.isWorker) {
        // The primary prints one banner for all.
        reportListening({ url: running.url, metricsUrl: running.metricsUrl, demo: running.demo });
      } else console.log(banner(running.url, running.demo, opts.db, running.metricsUrl));
      let closing = false;
      const stop = (signal: string) => {
        // Ctrl-C reaches a cluster's workers and their primary (which sends SIGTERM): once.
        if (closing) return;
        closing = true;
        if (!cluster.isWorker) console.log(`${signal}: closing`);
        void running.close().then(() => process.exit(0));
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
      return await new Promise<number>(() => {});
    },
  },
  link: linkCommand,
  export: exportCommand,
  forget: forgetCommand,
  deliveries: deliveriesCommand,
  quarantine: quarantineCommand,
  rfm: rfmCommand,
  train: trainCommand,
  doctor: doctorCommand,
  backup: backupCommand,
  seed: seedCommand,
};

function mainHelp(): string {
  const width = Math.max(...Object.keys(commands).map((k) => k.length));
  const list = Object.entries(commands)
    .map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`)
    .join('\n');
  return `microseg — an audience of one: snippet, collector and live microsegments

Usage: microseg <command> [options]

Commands:
${list}

Run "microseg <command> --help" for a command's options.`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '-h' || name === '--help' || name === 'help') {
    console.log(mainHelp());
    return 0;
  }
  const cmd = commands[name];
  if (!cmd) {
    console.error(`microseg: unknown command "${name}"\n\n${mainHelp()}`);
    return 2;
  }
  const parsed = (() => {
    try {
      return parseArgs({ args: rest, options: cmd.options, allowPositionals: true, strict: true });
    } catch (err) {
      console.error(`microseg ${name}: ${(err as Error).message}\n\n${cmd.usage}`);
      return undefined;
    }
  })();
  if (!parsed) return 2;
  if (parsed.values.help) {
    console.log(cmd.usage);
    return 0;
  }
  try {
    return await cmd.run(
      parsed.values as Record<string, string | boolean | undefined>,
      parsed.positionals,
    );
  } catch (err) {
    if (err instanceof ConfigError || err instanceof SecretError) {
      console.error(err.message);
      return 1;
    }
    throw err;
  }
}
