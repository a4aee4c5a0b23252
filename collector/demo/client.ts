/**
 * The demo shop's inline script: SPA routing between the server-rendered views, the cart
 * buttons, and the live segment panel. Plain ES2019 so it runs as-is in any browser.
 */
export const DEMO_SCRIPT = `(function () {
  var views = [].slice.call(document.querySelectorAll('[data-view]'));
  var meta = document.querySelector('meta[name="microseg:category"]');
  var $ = function (id) { return document.getElementById(id); };

  // A route change sets the page category before the snippet looks (it waits for the route to settle).
  function render() {
    var path = location.pathname.length > 6 ? location.pathname.replace(/\\/$/, '') : '/demo/';
    var find = function (p) { return views.filter(function (v) { return v.getAttribute('data-view') === p; })[0]; };
    var view = find(path) || find('') || views[0];
    views.forEach(function (v) { v.hidden = v !== view; });
    meta.content = view.getAttribute('data-category');
    document.title = view.getAttribute('data-title');
    [].forEach.call(document.querySelectorAll('nav a'), function (a) {
      a.classList.toggle('on', path.indexOf(a.getAttribute('href')) === 0);
    });
    // The recommendation rows leave out what the view shows (page.ts pickedRow does it for the first paint).
    var slug = function (el) { return el.getAttribute('data-slug'); };
    var shown = [].map.call(view.querySelectorAll('[data-slug]'), slug);
    [].forEach.call(document.querySelectorAll('.picked [data-slug]'), function (el) {
      el.classList.toggle('dup', shown.indexOf(slug(el)) >= 0);
    });
    [].forEach.call(document.querySelectorAll('.picked [data-row]'), function (row) {
      row.classList.toggle('dup', !row.querySelector('[data-slug]:not(.dup)'));
    });
  }

  document.addEventListener('click', function (e) {
    var a = e.target.closest && e.target.closest('a[href^="/demo"]');
    if (!a || e.defaultPrevented || e.button || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    if (a.pathname !== location.pathname) {
      history.pushState(null, '', a.pathname);
      render();
    }
    scrollTo(0, 0);
  });
  addEventListener('popstate', render);

  var cart = 0;
  function toast(text) {
    var t = $('toast');
    t.textContent = text;
    t.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { t.hidden = true; }, 2200);
  }
  document.addEventListener('click', function (e) {
    var b = e.target.closest && e.target.closest('button[data-track]');
    if (!b) return;
    var type = b.getAttribute('data-track');
    microseg.track(type, {
      category: b.getAttribute('data-category'),
      value: Number(b.getAttribute('data-value')),
      currency: 'EUR',
      product: b.getAttribute('data-product'),
    });
    if (type === 'add_to_cart') $('cart-count').textContent = String(++cart);
    toast(type === 'purchase' ? 'Thank you! (a demo: nothing was charged)' : 'Added to your cart');
  });

  $('reset').addEventListener('click', function () {
    try { localStorage.clear(); } catch (err) {}
    location.assign('/demo/');
  });

  var label = function (s) { return s == null ? 'none yet' : String(s).replace(/_/g, ' '); };
  function paint(s) {
    if (!s) return;
    var key = $('seg-key');
    if (key.textContent !== s.segment) {
      // Flash a change, not the first segment of the page.
      if (key.dataset.shown) key.classList.add('flash');
      key.dataset.shown = '1';
      key.textContent = s.segment;
      setTimeout(function () { key.classList.remove('flash'); }, 600);
    }
    $('seg-lifecycle').textContent = label(s.lifecycle);
    $('seg-category').textContent = label(s.category);
    $('seg-engagement').textContent = label(s.engagement);
    $('seg-intent').textContent = label(s.intent);
    $('seg-visitor').textContent = 'visitor ' + s.visitor;
    var names = Object.keys(s.affinity || {});
    if (!names.length) return;
    var box = $('seg-affinity');
    box.textContent = '';
    names.forEach(function (name) {
      var pct = Math.round(s.affinity[name] * 100);
      var row = document.createElement('div');
      row.className = 'bar';
      var n = document.createElement('span');
      n.textContent = label(name);
      var track = document.createElement('s');
      var fill = document.createElement('i');
      fill.style.width = pct + '%';
      track.appendChild(fill);
      var v = document.createElement('span');
      v.textContent = pct + '%';
      row.appendChild(n); row.appendChild(track); row.appendChild(v);
      box.appendChild(row);
    });
  }

  render();
  // The snippet fires this on every change, from its cache at start and from each collect answer.
  document.addEventListener('microseg:segment', function (e) { paint(e.detail); });
  microseg.segment().then(paint, function () {});
  // The event fires when the key changes; affinity shares move on every batch, so look again now and then
  // (segment() answers from the snippet's memory while fresh: no request).
  setInterval(function () { microseg.segment().then(paint, function () {}); }, 2000);
})();`;
