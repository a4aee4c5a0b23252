/** The `microseg` command line: one function per command, each with its own `--help`. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError } from './config.ts';
import { optionsFromEnv, start } from './server.ts';

interface Command {
  summary: string;
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  run(values: Record<string, string | boolean | undefined>, positionals: string[]): Promise<number>;
}

const help = { type: 'boolean', short: 'h' } as const;

export const commands: Record<string, Command> = {
  serve: {
    summary: 'run the collector (HTTP server on one SQLite file)',
    usage: `microseg serve [--port N] [--host H] [--db FILE] [--config FILE] [--no-demo]

Options (each overrides its environment variable):
  --port N        listen port (PORT, default 8787)
  --host H        listen address (HOST, default 0.0.0.0)
  --db FILE       SQLite file (MICROSEG_DB, default ./data/microseg.db)
  --config FILE   site config JSON (MICROSEG_CONFIG, default: the built-in "demo" site)
  --no-demo       do not serve /demo (MICROSEG_DEMO=0)
  -h, --help      this help`,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      db: { type: 'string' },
      config: { type: 'string' },
      'no-demo': { type: 'boolean' },
      help,
    },
    async run(v) {
      const opts = optionsFromEnv();
      if (v.port !== undefined) opts.port = Number(v.port);
      if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) {
        console.error(`microseg serve: invalid port ${v.port ?? process.env.PORT}`);
        return 2;
      }
      if (typeof v.host === 'string') opts.host = v.host;
      if (typeof v.db === 'string') opts.db = v.db;
      if (typeof v.config === 'string') opts.config = v.config;
      if (v['no-demo']) opts.demo = false;
      const running = await start(opts);
      const base = running.url;
      console.log(`microseg collector on ${base}
  demo shop:  ${base}/demo/
  snippet:    ${base}/ms.js
  health:     ${base}/healthz
  database:   ${opts.db}`);
      const stop = (signal: string) => {
        console.log(`${signal}: closing`);
        void running.close().then(() => process.exit(0));
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
      return await new Promise<number>(() => {});
    },
  },
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
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: cmd.options, allowPositionals: true, strict: true });
  } catch (err) {
    console.error(`microseg ${name}: ${(err as Error).message}\n\n${cmd.usage}`);
    return 2;
  }
  if (parsed.values.help) {
    console.log(cmd.usage);
    return 0;
  }
  try {
    return await cmd.run(parsed.values as Record<string, string | boolean | undefined>, parsed.positionals);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 1;
    }
    throw err;
  }
}
