/** The demo shop's single page; its sections are SPA routes under /demo/. */
export function demoPage(origin: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>microseg demo shop</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<script defer src="${origin}/ms.js" data-site="demo"></script>
</head><body>
<h1>microseg demo shop</h1>
<nav>
<a href="/demo/cameras" data-ms-category="cameras">Cameras</a>
<a href="/demo/sports" data-ms-category="sports">Sports</a>
</nav>
<pre id="segment">loading…</pre>
</body></html>`;
}
