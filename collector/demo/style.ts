/** The demo shop's stylesheet, inlined into the page (no external assets). */
export const DEMO_CSS = `
:root{--ink:#1d2330;--muted:#667085;--line:#e6e8ee;--bg:#f6f7fb;--card:#fff;--accent:hsl(250 60% 52%);
font:15px/1.5 system-ui,-apple-system,"Segoe UI","Liberation Sans","DejaVu Sans",sans-serif;color:var(--ink);background:var(--bg)}
html[data-ms-category=cameras]{--accent:hsl(205 70% 42%)}
html[data-ms-category=sports]{--accent:hsl(145 55% 34%)}
html[data-ms-category=womens_apparel]{--accent:hsl(335 60% 46%)}
*{box-sizing:border-box}body{margin:0}
a{color:inherit}h2{margin:.2em 0 .5em;font-size:1.35rem;letter-spacing:-.01em}h3{margin:.5em 0 .1em;font-size:1rem}
[hidden]{display:none!important}
.wrap{max-width:1180px;margin:0 auto;padding:0 20px}
.top{background:#fff;border-bottom:1px solid var(--line);position:sticky;top:0;z-index:2}
.top .wrap{display:flex;flex-wrap:wrap;align-items:center;gap:4px 28px;min-height:60px}
.brand{display:flex;align-items:center;gap:8px;font-weight:700;font-size:1.1rem;text-decoration:none}
.brand svg{width:26px;height:26px;fill:none;stroke:var(--accent);stroke-width:6}
nav{display:flex;gap:6px;flex:1}
nav a{text-decoration:none;padding:6px 12px;border-radius:999px;color:var(--muted);font-weight:500}
nav a:hover,nav a.on{background:var(--bg);color:var(--ink)}
.cart{margin-left:auto;font-weight:500;color:var(--muted)}.cart b{display:inline-block;min-width:22px;padding:0 6px;border-radius:999px;background:var(--accent);color:#fff;text-align:center}
.layout{display:grid;grid-template-columns:minmax(0,1fr) 290px;gap:28px;padding-top:24px;padding-bottom:40px;align-items:start}
@media (max-width:900px){.layout{grid-template-columns:minmax(0,1fr)}.panel{position:static}}
.banner{display:flex;justify-content:space-between;align-items:flex-end;gap:24px;padding:26px 28px;border-radius:18px;color:#fff;margin-bottom:24px;
background:linear-gradient(120deg,hsl(var(--h,250) 65% 42%),hsl(calc(var(--h,250) + 40) 70% 58%))}
.banner h2{font-size:1.7rem;margin:.1em 0 .2em}.banner p{margin:0;max-width:46ch;opacity:.95}
.kicker{text-transform:uppercase;letter-spacing:.08em;font-size:.72rem;font-weight:700;opacity:.8;margin:0 0 4px}
.offer{background:rgba(255,255,255,.18);border:1px solid rgba(255,255,255,.35);padding:10px 14px;border-radius:12px;max-width:30ch!important}
.view{margin-bottom:28px}.picked .dup{display:none}
.cats{display:grid;grid-template-columns:repeat(3,1fr);gap:16px}
.cat{display:flex;flex-direction:column;gap:4px;padding:18px;border-radius:14px;background:var(--card);border:1px solid var(--line);text-decoration:none}
.cat:hover,.card:hover{box-shadow:0 6px 22px rgba(20,30,60,.08)}
.cat svg{width:42px;height:42px;fill:none;stroke:hsl(var(--h) 50% 40%);stroke-width:3;stroke-linejoin:round}
.cat span{color:var(--muted);font-size:.9rem}
.grid{display:grid;grid-template-columns:repeat(3,1fr);gap:16px}
@media (max-width:640px){.grid,.cats{grid-template-columns:1fr}}
.card{background:var(--card);border:1px solid var(--line);border-radius:14px;padding:12px;display:flex;flex-direction:column}
.card a{text-decoration:none}.card p{margin:0 0 10px;flex:1}
.card-foot{display:flex;flex-direction:column;gap:8px}
.art{display:grid;place-items:center;border-radius:10px;background:linear-gradient(140deg,hsl(var(--h) 75% 92%),hsl(var(--h) 60% 78%))}
.art svg{fill:none;stroke:hsl(var(--h) 45% 30%);stroke-width:2.5;stroke-linejoin:round}
.art-card{height:120px}.art-card svg{width:56px}.art-hero{height:260px}.art-hero svg{width:120px}
.price{font-weight:700}.price.big{font-size:1.5rem;margin:.2em 0 .6em}
.buy{display:flex;gap:6px}
.btn{font:inherit;font-size:.85rem;font-weight:600;padding:7px 12px;border-radius:9px;border:1px solid var(--line);background:#fff;cursor:pointer}
.btn:hover{border-color:var(--accent)}.btn-primary{background:var(--accent);border-color:var(--accent);color:#fff}
.btn-ghost{width:100%;margin-top:8px;color:var(--muted)}
.product{display:grid;grid-template-columns:1fr 1fr;gap:24px;align-items:start}
.crumbs{color:var(--muted);font-size:.9rem}.crumbs a{text-decoration:none}
.muted{color:var(--muted)}.small{font-size:.82rem}
.panel{position:sticky;top:84px;background:var(--card);border:1px solid var(--line);border-radius:16px;padding:18px}
.panel .kicker{color:var(--muted)}#seg-visitor{overflow-wrap:anywhere}
.key{font:600 .95rem/1.3 "DejaVu Sans Mono","Liberation Mono",ui-monospace,monospace;padding:10px 12px;border-radius:10px;background:var(--bg);margin:0 0 12px;word-break:break-all;transition:background .4s}
.key.flash{background:hsl(50 100% 85%)}
dl{display:grid;grid-template-columns:auto 1fr;gap:4px 12px;margin:0 0 14px}dt{color:var(--muted)}dd{margin:0;font-weight:600}
.bars{display:flex;flex-direction:column;gap:6px;margin-bottom:10px}
.bar{display:grid;grid-template-columns:110px 1fr 38px;align-items:center;gap:8px;font-size:.85rem}
.bar i{display:block;height:8px;border-radius:4px;background:var(--accent)}.bar s{display:block;text-decoration:none;background:var(--bg);border-radius:4px}
footer{border-top:1px solid var(--line);padding:18px 0;color:var(--muted);font-size:.9rem}footer a{margin-left:8px}
.toast{position:fixed;bottom:20px;left:50%;transform:translateX(-50%);background:var(--ink);color:#fff;padding:10px 18px;border-radius:10px;margin:0}
@media (max-width:640px){.wrap{padding:0 14px}.top .wrap{gap:2px 12px;padding-top:8px;padding-bottom:6px}
nav{order:3;flex:1 0 100%;margin-left:-12px}.layout{gap:20px;padding-top:16px}
.banner{flex-direction:column;align-items:stretch;gap:14px;padding:20px}.banner h2{font-size:1.4rem}.offer{max-width:none!important}
.product{grid-template-columns:1fr}.art-hero{height:180px}}
`;
