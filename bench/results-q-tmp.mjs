import Database from 'better-sqlite3';
const db = new Database(process.argv[2], { readonly: true });
const now = Date.now(),
  from = now - 30 * 86400000,
  DAY = 86400000;
const qs = {
  activity: [
    `SELECT CAST((ts - ?) / ? AS INTEGER) AS b, count(DISTINCT visitor), count(DISTINCT contact), count(*) FROM events WHERE site = 'demo' AND ts >= ? AND ts < ? AND bot = 0 GROUP BY b`,
    [from, DAY, from, now],
  ],
  activityNoDistinct: [
    `SELECT CAST((ts - ?) / ? AS INTEGER) AS b, count(*) FROM events WHERE site = 'demo' AND ts >= ? AND ts < ? GROUP BY b`,
    [from, DAY, from, now],
  ],
  moves: [
    `SELECT count(*) FROM segment_changes WHERE site='demo' AND at >= ? AND at < ? AND kind='key'`,
    [from, now],
  ],
  keys: [`SELECT segment, count(*) FROM profiles WHERE site='demo' GROUP BY segment`, []],
  custom: [
    `select j.value as name, count(*) as n from profiles, json_each(profiles.segments) as j where profiles.site = 'demo' and profiles.segments != '[]' group by j.value`,
    [],
  ],
  rfm: [
    `SELECT (1 + (last_purchase > 1)) r, (1+(purchases>2)) f, count(*) FROM profiles WHERE site='demo' AND purchases > 0 GROUP BY r, f`,
    [],
  ],
  sizes: [`SELECT * FROM segment_sizes WHERE site='demo' AND day >= ? AND day <= ?`, [from, now]],
};
for (const [k, [sql, args]] of Object.entries(qs)) {
  const st = db.prepare(sql);
  st.all(...args);
  const t = performance.now();
  let n = 0;
  for (let i = 0; i < 5; i++) n = st.all(...args).length;
  console.log(k.padEnd(20), ((performance.now() - t) / 5).toFixed(1), 'ms', n, 'rows');
}
