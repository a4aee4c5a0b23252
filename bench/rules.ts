/**
 * Runtime rules on a seeded database (`microseg seed --visitors 100000`): the time of a rule
 * preview over every profile (the `POST /v1/rules/preview` work, no HTTP) for each template, then
 * of the backfill of a saved rule with the job's defaults, and that its members equal the preview.
 * `npx tsx bench/rules.ts --db FILE|URL [--site demo] [--n 5] [--now MS] [--prune off] [--previews-only]`
 * prints the median and max ms. `--prune off` reads every profile (no prefilter, engine/active.ts),
 * for a paired before/after; `--now` fixes the clock so two runs count the same profiles.
 * The saved rules are deleted again (and their deletion backfilled) before it ends.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../collector/config/config.ts';
import { startRuleBackfill } from '../collector/rules/backfill.ts';
import { previewRule } from '../collector/rules/preview.ts';
import { pendingOf, runtimeRules } from '../collector/rules/runtime.ts';
import { TEMPLATES } from '../collector/rules/templates.ts';
import { openStorage } from '../collector/storage/open.ts';

const { values } = parseArgs({
  options: {
    db: { type: 'string' },
    site: { type: 'string', default: 'demo' },
    n: { type: 'string', default: '5' },
    now: { type: 'string' },
    prune: { type: 'string', default: 'on' },
    'previews-only': { type: 'boolean', default: false },
  },
});
if (!values.db) {
  console.error('usage: npx tsx bench/rules.ts --db FILE|URL [--site demo] [--n 5]');
  process.exit(2);
}
const storage = await openStorage(values.db);
const config = loadConfig(process.env.MICROSEG_CONFIG);
const site = config.sites.get(values.site);
if (!site) throw new Error(`no site ${values.site}`);
const rules = runtimeRules(storage, config, { checkMs: 60_000 });
await rules.ready;
const now = values.now ? Number(values.now) : Date.now();
const prune = values.prune !== 'off';
console.log(`now ${now}, prefilter ${prune ? 'on' : 'off'}`);
// The jobs' timers are unref'd (a server keeps the process alive): keep it alive here.
const keepAlive = setInterval(() => {}, 1000);
/** CPU ms of this process (user + system): the figure a busy machine does not inflate. */
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

console.log(`profiles scanned, matches, median / max ms of ${values.n} previews (no time cap):`);
const counts = new Map<string, number>();
for (const t of TEMPLATES) {
  const times: number[] = [];
  const cpus: number[] = [];
  let last = { count: 0, scanned: 0, partial: false };
  for (let i = 0; i < Number(values.n); i++) {
    const c0 = cpu();
    const p = await previewRule(storage, site, t.rule.when, now, { maxMs: 60_000, prune });
    cpus.push(cpu() - c0);
    times.push(p.tookMs);
    last = p;
  }
  counts.set(t.id, last.count);
  console.log(
    `  ${t.id.padEnd(18)} ${last.scanned} scanned, ${last.count} match, ${median(times)} / ${Math.max(...times)} ms (CPU ${Math.round(median(cpus))} ms)`,
  );
}
const capped = await previewRule(storage, site, TEMPLATES[1]?.rule.when, now, { prune });
console.log(
  `  with the 1.5 s cap: partial ${capped.partial}, ${capped.scanned} scanned, ${capped.tookMs} ms`,
);

if (values['previews-only']) {
  rules.stop();
  clearInterval(keepAlive);
  await storage.close();
  process.exit(0);
}

async function backfillAll(label: string): Promise<void> {
  const started = performance.now();
  const c0 = cpu();
  await new Promise<void>((done) => {
    const job = startRuleBackfill(storage, config, rules, {
      now: () => now,
      log: () => {},
      onDone: () => {
        if (pendingOf(rules.state(values.site ?? 'demo')).length === 0) {
          job.stop();
          done();
        }
      },
    });
  });
  console.log(
    `backfill (${label}): ${Math.round(performance.now() - started)} ms (CPU ${Math.round(cpu() - c0)} ms)`,
  );
}

const id = 'camera-curious';
const tpl = TEMPLATES.find((t) => t.id === id);
if (!tpl) throw new Error('no template');
await storage.write((tx) =>
  tx.rules.put(site.id, `bench-${id}`, JSON.stringify(tpl.rule), now, 100),
);
await rules.refresh(site.id);
await backfillAll(`bench-${id}, defaults: 500 profiles a transaction, 10 ms between`);
const members = (await storage.segmentCounts(site.id)).custom[`bench-${id}`] ?? 0;
console.log(`members after backfill ${members}, preview said ${counts.get(id)}`);
await storage.write((tx) => tx.rules.delete(site.id, `bench-${id}`, now));
await rules.refresh(site.id);
await backfillAll('its deletion');
rules.stop();
clearInterval(keepAlive);
await storage.close();
