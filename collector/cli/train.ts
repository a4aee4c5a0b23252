/** `microseg train`: one goal's model trained now, on the database, and its evaluation printed. */
import { loadSiteConfig } from '../config/env.ts';
import { findGoal, goalOf } from '../goals/catalog.ts';
import { type StoredReport, trainGoal } from '../goals/trainer.ts';
import { optionsFromEnv } from '../http/server.ts';
import type { Command } from './cli.ts';
import { dbOption, fail, help, withStorage } from './cli-data.ts';

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** The buckets' thresholds and how each did on the holdout, one line each. */
function buckets(report: StoredReport): string {
  const t = report.thresholds;
  const b = report.buckets;
  if (!t || !b) return '';
  const line = (name: string, from: string, f: { n: number; rate: number }) =>
    `  ${name.padEnd(18)} ${from.padEnd(10)} ${String(f.n).padStart(6)} examples, ${pct(f.rate)} reached the goal\n`;
  return `buckets (p from)\n${line('most_likely', pct(t.most), b.most_likely)}${line('moderately_likely', pct(t.moderate), b.moderately_likely)}${line('least_likely', '0%', b.least_likely)}`;
}

export const trainCommand: Command = {
  summary: "train a goal's model now and print its holdout evaluation",
  usage: `microseg train --site S --goal G [--json] [--config FILE] [--db FILE]

The collector retrains every goal every 6 hours (the one process leading the background jobs);
this trains one now, on the database (safe while the collector runs: the model is stored when
done and answered by GET /v1/goals/G/model). The site's events are read page by page and the
model fitted in a child process at the lowest CPU priority; examples are the visitors at five
past cut-offs a horizon apart, judged on the latest (docs/goals.md). Below 200 examples or 20 that reached the goal, the goal
keeps the intent heuristic, and this says why.

Options:
  --site S          site id from the site config
  --goal G          a goal of the config file or saved through /v1/goals
  --json            the evaluation as one JSON object
  --config FILE     site config JSON (MICROSEG_CONFIG)
${dbOption}
  -h, --help        this help`,
  options: {
    site: { type: 'string' },
    goal: { type: 'string' },
    json: { type: 'boolean' },
    config: { type: 'string' },
    db: { type: 'string' },
    help,
  },
  async run(v) {
    if (typeof v.site !== 'string') return fail('train', '--site is required');
    if (typeof v.goal !== 'string') return fail('train', '--goal is required');
    const opts = optionsFromEnv();
    const config = loadSiteConfig(opts, typeof v.config === 'string' ? v.config : opts.config);
    const site = config.sites.get(v.site);
    if (!site)
      return fail(
        'train',
        `no site "${v.site}" in the site config (${[...config.sites.keys()].join(', ')}): --config FILE`,
      );
    const name = v.goal;
    return withStorage('train', v, async (storage) => {
      const view = await findGoal(storage, site, name);
      if (!view) return fail('train', `no goal "${name}" on site "${site.id}"`);
      const report = await trainGoal(storage, site, name, goalOf(view), { now: Date.now() });
      if (v.json) {
        console.log(JSON.stringify({ site: site.id, goal: name, ...report }));
        return 0;
      }
      const h = report.holdout;
      const head = `site ${site.id}, goal ${name}: ${report.rowsRead} events of ${report.visitors} visitors read${report.truncated ? ' (stopped at a bound: part of the site)' : ''}, ${report.totalMs} ms`;
      if (report.status === 'fallback' || !h) {
        console.log(
          `${head}\nno model: ${report.reason ?? 'nothing to judge'}; the intent heuristic serves`,
        );
        return 0;
      }
      const table = h.calibration
        .map(
          (b) =>
            `  ${String(b.decile).padStart(2)}  ${String(b.n).padStart(6)}  ${pct(b.predicted).padStart(6)}  ${pct(b.observed).padStart(6)}`,
        )
        .join('\n');
      console.log(`${head}
train ${report.train.examples} examples (${report.train.positives} reached the goal), holdout ${h.examples} (${h.positives})
AUC ${h.auc?.toFixed(3) ?? '-'}  Brier ${h.brier.toFixed(4)}  calibration error ${h.calibrationError.toFixed(4)}  top-decile lift ${h.topDecileLift?.toFixed(2) ?? '-'}
the intent heuristic on the same holdout: AUC ${report.heuristic?.auc?.toFixed(3) ?? '-'}
${buckets(report)}decile       n  predicted observed
${table}`);
      return 0;
    });
  },
};
