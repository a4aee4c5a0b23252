import { elementCategory } from './category.ts';
import { on } from './config.ts';
import { cut, track } from './track.ts';

// One delegated listener in the capture phase sees every link click, even on links added later or
// whose handlers stop propagation. Middle clicks (new tab) arrive as auxclick with button 1; a
// right click (button 2, the context menu) is no visit.
const onClick = (e: MouseEvent): void => {
  const t = e.target as Element;
  // A click dispatched on the document itself has no closest().
  const a = t.closest?.<HTMLAnchorElement>('a[href]');
  if (a && e.button < 2)
    track('click', { category: elementCategory(t) }, { target: cut(a.href), outbound: a.origin != location.origin });
};

export const startClicks = (): void => {
  on('click', onClick);
  on('auxclick', onClick);
};
