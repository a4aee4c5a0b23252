import { elementCategory } from './category.ts';
import { cut, track } from './track.ts';

// One delegated listener in the capture phase sees every link click, even on links added later or
// whose handlers stop propagation. Middle clicks (new tab) arrive as auxclick with button 1.
const onClick = (e: MouseEvent): void => {
  const t = e.target as Element;
  // A click dispatched on the document itself has no closest().
  const a = t.closest && t.closest<HTMLAnchorElement>('a[href]');
  if (a && (e.type == 'click' || e.button == 1))
    track('click', { category: elementCategory(t) }, { target: cut(a.href), outbound: a.origin != location.origin });
};

export const startClicks = (): void => {
  document.addEventListener('click', onClick, true);
  document.addEventListener('auxclick', onClick, true);
};
