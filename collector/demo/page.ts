/**
 * The demo shop: one HTML document whose views (home, a category, a product) are SPA routes
 * under /demo/. Every view is rendered here and toggled by a small inline script, so the shop
 * needs no assets beyond the snippet itself.
 */
import {
  CATEGORIES,
  PRODUCTS,
  categoryById,
  productsOf,
  type Category,
  type Product,
} from './catalog.ts';
import { DEMO_CSS } from './style.ts';
import { DEMO_SCRIPT } from './client.ts';
import { must } from '../../shared/must.ts';

const esc = (s: string): string =>
  s.replace(
    /[&<>"']/g,
    (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] ?? ch,
  );

const euros = (n: number): string => `€${n.toLocaleString('en-US')}`;

/** Outlined artwork per category, drawn in the category's hue. */
const ICONS: Record<string, string> = {
  cameras:
    '<rect x="8" y="20" width="48" height="32" rx="6"/><path d="M22 20l4-6h12l4 6"/><circle cx="32" cy="36" r="10"/><circle cx="32" cy="36" r="4"/>',
  sports: '<circle cx="32" cy="32" r="20"/><path d="M15 22c9 5 9 15 0 20M49 22c-9 5-9 15 0 20"/>',
  womens_apparel: '<path d="M26 10h12l-2 12 12 32H16l12-32z"/><path d="M25 24h14"/>',
};

function art(p: Product, size: 'card' | 'hero'): string {
  const hue = (categoryById(p.category)?.hue ?? 0) + (PRODUCTS.indexOf(p) % 3) * 14;
  return `<div class="art art-${size}" style="--h:${hue}" aria-hidden="true"><svg viewBox="0 0 64 64">${ICONS[p.category] ?? ''}</svg></div>`;
}

const productPath = (p: Product) => `/demo/${p.category}/${p.slug}`;

function buyButtons(p: Product): string {
  const data = `data-category="${esc(p.category)}" data-value="${p.price}" data-product="${esc(p.slug)}"`;
  return `<div class="buy"><button class="btn" data-track="add_to_cart" ${data}>Add to cart</button><button class="btn btn-primary" data-track="purchase" ${data}>Buy now</button></div>`;
}

// No `data-ms-category` on links to the shop's own pages (nav, cards, crumbs): the page a link
// opens counts its category with its page view, and a tagged link would count it a second time
// with the click (one header click would be two of the three events that make a visitor hot).

/** A product card; `dup` when the view on show already has the product (the client script keeps it so). */
function card(p: Product, dup = false): string {
  return `<article class="card${dup ? ' dup' : ''}" data-slug="${esc(p.slug)}">
<a href="${productPath(p)}">${art(p, 'card')}<h3>${esc(p.name)}</h3></a>
<p class="muted">${esc(p.tagline)}</p>
<div class="card-foot"><span class="price">${euros(p.price)}</span>${buyButtons(p)}</div>
</article>`;
}

const grid = (ps: Product[], shown: ReadonlySet<string> = new Set()) =>
  `<div class="grid">${ps.map((p) => card(p, shown.has(p.slug))).join('')}</div>`;

interface View {
  path: string;
  title: string;
  category: string;
  /** Slugs of the products the view itself shows, which the recommendation rows then leave out. */
  products: string[];
  html: string;
}

function views(): View[] {
  const home: View = {
    path: '/demo/',
    title: 'microseg demo shop',
    category: '',
    products: [],
    html: `<h2>Shop by category</h2><div class="cats">${CATEGORIES.map(
      (c) => `<a class="cat" href="/demo/${c.id}" style="--h:${c.hue}">
<svg viewBox="0 0 64 64" aria-hidden="true">${ICONS[c.id]}</svg><strong>${esc(c.title)}</strong><span>${esc(c.blurb)}</span></a>`,
    ).join('')}</div>`,
  };
  const categoryViews = CATEGORIES.map((c: Category) => ({
    path: `/demo/${c.id}`,
    title: `${c.title} · microseg demo shop`,
    category: c.id,
    products: productsOf(c.id).map((p) => p.slug),
    html: `<h2>${esc(c.title)}</h2><p class="muted">${esc(c.blurb)}</p>${grid(productsOf(c.id))}`,
  }));
  const productViews = PRODUCTS.map((p) => ({
    path: productPath(p),
    title: `${p.name} · microseg demo shop`,
    category: p.category,
    products: [p.slug],
    html: `<p class="crumbs"><a href="/demo/">Home</a> › <a href="/demo/${p.category}">${esc(
      categoryById(p.category)?.title ?? p.category,
    )}</a></p>
<div class="product" data-slug="${esc(p.slug)}">${art(p, 'hero')}<div><h2>${esc(p.name)}</h2><p>${esc(p.tagline)}.</p>
<p class="price big">${euros(p.price)}</p>${buyButtons(p)}<p class="muted small">A demo: nothing is charged; the snippet records an event.</p></div></div>`,
  }));
  return [home, ...categoryViews, ...productViews];
}

const VIEWS = views();
const notFound: View = {
  path: '',
  title: 'Not found · microseg demo shop',
  category: '',
  products: [],
  html: '<h2>Not found</h2><p><a href="/demo/">Back to the shop</a></p>',
};

/** The view for a request path; unknown paths get the not-found view (and a 404). */
export function viewFor(path: string): View | undefined {
  const p = path === '/demo' ? '/demo/' : path.length > 6 ? path.replace(/\/$/, '') : path;
  return VIEWS.find((v) => v.path === p);
}

// Personalization in plain HTML (docs/snippet.md): the snippet shows or hides these by segment;
// `,` separates alternatives. Variants start `hidden`, so a first visit sees the generic version.
// (CATEGORIES drive both the variants and the nav, so a new category gets its banner and row.)
const noFocus = 'category=none, category=mixed';

const BANNERS: Record<string, { title: string; text: string; offer: string }> = {
  cameras: {
    title: 'Made for your next shot',
    text: 'New this week: the Aurora X100 kit with a free 35 mm prime.',
    offer: 'FOCUS10',
  },
  sports: {
    title: 'Ready for race season?',
    text: 'Trail Runner 2 restocked in every size, free returns.',
    offer: 'PACE10',
  },
  womens_apparel: {
    title: 'The linen edit is here',
    text: 'Light layers for warm days, cut from washed European linen.',
    offer: 'LINEN10',
  },
};

function banner(): string {
  const personal = CATEGORIES.map((c) => {
    const b = must(BANNERS[c.id], `banner of ${c.id}`);
    return `<div class="banner" style="--h:${c.hue}" hidden data-ms-show="category=${c.id}" data-banner="${c.id}">
<div><p class="kicker">Picked for you · ${esc(c.title)}</p><h2>${esc(b.title)}</h2><p>${esc(b.text)}</p></div>
<p class="offer" hidden data-ms-show="engagement=hot">You keep coming back: code <b>${b.offer}</b> takes 10% off today.</p></div>`;
  }).join('');
  return `<section class="banners" aria-label="Offers">
<div class="banner banner-default" data-ms-show="${noFocus}" data-banner="default"><div><p class="kicker">Welcome to the demo shop</p>
<h2>This banner is about you</h2><p>Browse a category or two: the shop notices, and this space changes to match. Your live segment is in the panel beside the shop (below it on a phone).</p></div></div>
${personal}</section>`;
}

/**
 * The recommendation rows under the view. A product the view on show already has is left out
 * (`dup`: the category page's own grid would otherwise come twice), and a row left empty goes too;
 * the client script redoes this on every route change.
 */
function pickedRow(view: View): string {
  const shown = new Set(view.products);
  const row = (attrs: string, title: string, ps: Product[]) =>
    `<div${ps.every((p) => shown.has(p.slug)) ? ' class="dup"' : ''} ${attrs}><h2>${title}</h2>${grid(ps, shown)}</div>`;
  const rows = CATEGORIES.map((c) =>
    row(
      `hidden data-ms-show="category=${c.id}" data-row="${c.id}"`,
      `More ${esc(c.title.toLowerCase())} for you`,
      productsOf(c.id),
    ),
  ).join('');
  const bestsellers = PRODUCTS.filter((p) => productsOf(p.category)[0] === p);
  return `<section class="picked" aria-label="Recommendations">
${row(`data-ms-show="${noFocus}" data-row="default"`, 'Bestsellers', bestsellers)}${rows}</section>`;
}

const panel = `<aside class="panel" id="segment-panel" aria-live="polite">
<p class="kicker">Your live microsegment</p>
<p class="key" id="seg-key">waiting for the collector…</p>
<dl>
<dt>Lifecycle</dt><dd id="seg-lifecycle">–</dd>
<dt>Category</dt><dd id="seg-category">–</dd>
<dt>Engagement</dt><dd id="seg-engagement">–</dd>
<dt>Intent</dt><dd id="seg-intent">–</dd>
</dl>
<p class="muted small" id="seg-rule">Each page you open in a category counts one event there; three within a week make you <b>hot</b> in it.</p>
<p class="kicker">Category affinity</p>
<div id="seg-affinity" class="bars"><p class="muted small">No categorized activity yet.</p></div>
<p class="muted small" id="seg-visitor"></p>
<button class="btn btn-ghost" id="reset">Start over as a new visitor</button>
</aside>`;

/** The optional anti-flicker style of docs/snippet.md, with its hard timeout. */
const ANTI_FLICKER_CSS =
  '.ms-pending [data-ms-show], .ms-pending [data-ms-hide] { visibility: hidden; }';
const ANTI_FLICKER = `document.documentElement.classList.add('ms-pending');
setTimeout(function () { document.documentElement.classList.remove('ms-pending'); }, 1500);`;

/** The pre-load stub of docs/snippet.md: calls made before ms.js arrives are queued, not lost. */
const STUB = `window.microseg=window.microseg||{q:[]};"track page segment identify optOut".split(" ").forEach(function(m){
microseg[m]=microseg[m]||function(){var a=arguments;return new Promise(function(r){microseg.q.push([m,a,r])})}})`;

export function demoPage(path: string): { status: 200 | 404; html: string } {
  const current = viewFor(path);
  const shown = current ?? notFound;
  const sections = [...VIEWS, ...(current ? [] : [notFound])]
    .map(
      (v) =>
        `<section class="view" data-view="${v.path}" data-category="${v.category}" data-title="${esc(v.title)}"${v === shown ? '' : ' hidden'}>${v.html}</section>`,
    )
    .join('\n');
  const nav = CATEGORIES.map((c) => `<a href="/demo/${c.id}">${esc(c.title)}</a>`).join('');
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>${esc(shown.title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<meta name="microseg:category" content="${shown.category}">
<script>${STUB}</script>
<style>${ANTI_FLICKER_CSS}</style>
<script>${ANTI_FLICKER}</script>
<script defer src="/ms.js" data-site="demo"></script>
<style>${DEMO_CSS}</style>
</head><body>
<header class="top"><div class="wrap">
<a class="brand" href="/demo/"><svg viewBox="0 0 64 64" aria-hidden="true"><circle cx="32" cy="32" r="22"/><circle cx="32" cy="32" r="8"/></svg>Lumen &amp; Co.</a>
<nav>${nav}</nav>
<span class="cart" aria-label="Cart">Cart <b id="cart-count">0</b></span>
</div></header>
<div class="wrap layout"><main>
${banner()}
${sections}
${pickedRow(shown)}
</main>${panel}</div>
<footer><div class="wrap">A demo of <b>microseg</b>: every view, click and cart above is an event on this collector.
<a href="https://en.wikipedia.org/wiki/Market_segmentation" target="_blank" rel="noopener">What is market segmentation?</a></div></footer>
<p class="toast" id="toast" hidden></p>
<script>${DEMO_SCRIPT}</script>
</body></html>`;
  return { status: current ? 200 : 404, html };
}
