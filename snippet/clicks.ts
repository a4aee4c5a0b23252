import { elementCategory } from './category.ts';
import { on } from './config.ts';
import { cut, record } from './track.ts';

// One delegated listener in the capture phase sees every link click, even on links added later or
// whose handlers stop propagation. Middle clicks (new tab) arrive as auxclick with button 1; a
// right click (button 2, the context menu) is no visit.
const onClick = (e: MouseEvent): void => {
  const t = e.target as Element;
  // A click dispatched on the document itself has no closest(). An HTML link's `href` is its URL,
  // resolved (none: ''); an SVG link's is an SVGAnimatedString whose `baseVal` is its `href` or
  // SVG 1.1 `xlink:href` as written (none: ''), and there is no `a.origin`. The collector resolves
  // it against the page URL and tells outbound links by origin.
  const a: HTMLAnchorElement | SVGAElement | null | undefined = t.closest?.('a');
  const href = (a?.href as SVGAnimatedString | undefined)?.baseVal ?? (a?.href as string);
  if (href && e.button < 2) record({ h: cut(href), p: { category: elementCategory(t) } });
};

export const startClicks = (): void => {
  on('click', onClick);
  on('auxclick', onClick);
};
