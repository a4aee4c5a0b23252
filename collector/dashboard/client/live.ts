/**
 * The Live page's client: follows `/dashboard/live/stream` (server-sent events) and lists each
 * entry newest first, capped, with a pause button and an outcome filter. Rows are built with DOM
 * calls and `textContent` only: origins and messages come from whoever sent a request.
 * Screen readers hear a short summary every few seconds (one polite live region), never one
 * announcement per event.
 */

/** An entry as the stream sends it (collector/live/feed.ts LiveEntry). */
interface Entry {
  id: number;
  at: number;
  site: string | null;
  source: 'collect' | 'events' | 'email';
  origin: string | null;
  outcome: string;
  count: number;
  reason: string | null;
  message: string;
  fix: string | null;
  events: { type: string; category: string | null }[];
  visitor?: string;
}

const LABELS: Record<string, string> = {
  accepted: 'Accepted',
  duplicate: 'Duplicate',
  refused: 'Refused',
  bot: 'Bot / automation',
  origin_not_allowed: 'Origin not allowed',
  rate_limited: 'Rate limited',
  privacy: 'Privacy signal',
};
const SOURCES: Record<string, string> = {
  collect: 'browser',
  events: 'server (/v1/events)',
  email: 'email link',
};
/** Rows kept on the page; older ones are removed. */
const ROWS = 200;
/** How often the polite summary may speak. */
const SUMMARY_MS = 10_000;

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  cls?: string,
  text?: string,
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

const time = (at: number) => new Date(at).toLocaleTimeString();

/** Rather than an entry per sign-out, a message between the dashboard's tabs. */
const SIGNOUT_CHANNEL = 'microseg-dashboard';

export function initLive(): void {
  // On every page: a sign-out tells the other tabs, so a Live page elsewhere stops its stream.
  const signout = document.querySelector<HTMLFormElement>('form.signout');
  const channel = 'BroadcastChannel' in window ? new BroadcastChannel(SIGNOUT_CHANNEL) : null;
  signout?.addEventListener('submit', () => channel?.postMessage('signed-out'));

  const root = document.getElementById('live');
  if (!root) return;
  const part = <T extends HTMLElement>(name: string) =>
    root.querySelector<T>(`[data-live="${name}"]`);
  const rows = part<HTMLOListElement>('rows');
  const status = part<HTMLParagraphElement>('status');
  const summary = part<HTMLParagraphElement>('summary');
  const empty = part<HTMLParagraphElement>('empty');
  const pause = part<HTMLButtonElement>('pause');
  const filter = part<HTMLSelectElement>('filter');
  const clear = part<HTMLButtonElement>('clear');
  const url = root.dataset.stream;
  if (!rows || !status || !summary || !empty || !pause || !filter || !clear || !url) return;
  const person = root.dataset.person ?? '/dashboard/visitors/';
  const site = root.dataset.site ?? '';

  let paused = false;
  /** Entries that arrived while paused, shown on resume (capped like the list). */
  let held: Entry[] = [];
  let droppedTotal = 0;
  /** Outcomes counted since the summary last spoke. */
  let since: Record<string, number> = {};
  let lastSpoken = 0;
  let summaryTimer: number | undefined;

  const shows = (outcome: string) => {
    const f = filter.value;
    return f === '' || (f === 'problems' ? outcome !== 'accepted' : f === outcome);
  };
  const applyFilter = () => {
    for (const li of rows.children) {
      (li as HTMLElement).hidden = !shows((li as HTMLElement).dataset.outcome ?? '');
    }
  };

  const setStatus = (text: string) => {
    const dropped =
      droppedTotal > 0
        ? ` ${droppedTotal} entries were dropped (too many at once for this page).`
        : '';
    status.textContent = `${text}${dropped}`;
  };

  const speak = () => {
    summaryTimer = undefined;
    const parts = Object.entries(since).map(([o, n]) => `${n} ${(LABELS[o] ?? o).toLowerCase()}`);
    if (parts.length === 0) return;
    summary.textContent = `New since the last update: ${parts.join(', ')}.`;
    since = {};
    lastSpoken = Date.now();
  };
  const count = (e: Entry) => {
    since[e.outcome] = (since[e.outcome] ?? 0) + 1;
    if (summaryTimer !== undefined) return;
    const wait = Math.max(0, lastSpoken + SUMMARY_MS - Date.now());
    summaryTimer = window.setTimeout(speak, wait);
  };

  const row = (e: Entry) => {
    const li = el('li', `live-row outcome-${e.outcome}`);
    li.dataset.outcome = e.outcome;
    li.dataset.id = String(e.id);
    const head = el('p', 'live-head');
    head.append(el('span', 'badge', LABELS[e.outcome] ?? e.outcome));
    const when = el('time', 'live-time', time(e.at));
    when.dateTime = new Date(e.at).toISOString();
    head.append(' ', when);
    const what = e.count === 1 ? '1 event' : e.count === 0 ? 'a request' : `${e.count} events`;
    head.append(` · ${what} · ${e.site ?? 'no known site'} · ${SOURCES[e.source] ?? e.source}`);
    if (e.origin) head.append(' · from ', el('code', undefined, e.origin));
    li.append(head);
    li.append(el('p', 'live-message', e.message));
    if (e.events.length > 0) {
      const cats = e.events.map((x) => (x.category ? `${x.type} (${x.category})` : x.type));
      const more = e.count > e.events.length ? ` and ${e.count - e.events.length} more` : '';
      li.append(el('p', 'live-events', `Events: ${cats.join(', ')}${more}`));
    }
    if (e.visitor) {
      // A contact's profile is `c:<contact>`: its page is /dashboard/contacts/<contact>.
      const contact = e.visitor.startsWith('c:') ? e.visitor.slice(2) : null;
      const p = el('p', 'live-visitor', contact ? 'Contact: ' : 'Visitor: ');
      const a = el('a', undefined, contact ?? e.visitor);
      const base = contact ? person.replace(/visitors\/$/, 'contacts/') : person;
      a.href = `${base}${encodeURIComponent(contact ?? e.visitor)}?site=${encodeURIComponent(e.site ?? site)}`;
      p.append(a);
      li.append(p);
    }
    if (e.fix) {
      const fix = el('p', 'live-fix');
      fix.append(el('strong', undefined, 'How to fix: '), e.fix);
      li.append(fix);
    }
    li.hidden = !shows(e.outcome);
    return li;
  };

  const show = (entries: Entry[]) => {
    if (entries.length === 0) return;
    const frag = document.createDocumentFragment();
    // Newest first: the last entry received goes on top.
    for (let i = entries.length - 1; i >= 0; i--) {
      const e = entries[i];
      if (e) frag.append(row(e));
    }
    rows.prepend(frag);
    while (rows.children.length > ROWS) rows.lastElementChild?.remove();
    empty.hidden = rows.children.length > 0;
  };

  const receive = (e: Entry) => {
    count(e);
    if (paused) {
      held.push(e);
      if (held.length > ROWS) {
        droppedTotal += held.length - ROWS;
        held = held.slice(-ROWS);
      }
      setStatus(`Paused: ${held.length} new entries waiting.`);
      return;
    }
    show([e]);
  };

  pause.addEventListener('click', () => {
    paused = !paused;
    pause.textContent = paused ? 'Resume' : 'Pause';
    pause.setAttribute('aria-pressed', String(paused));
    if (!paused) {
      show(held);
      held = [];
      setStatus('Following arrivals.');
    } else setStatus('Paused: new entries wait until you resume.');
  });
  filter.addEventListener('change', applyFilter);
  clear.addEventListener('click', () => {
    rows.replaceChildren();
    empty.hidden = false;
  });

  const source = new EventSource(url);
  let ended = false;
  source.addEventListener('hello', () => setStatus('Following arrivals.'));
  source.addEventListener('entry', (m) => receive(JSON.parse((m as MessageEvent<string>).data)));
  source.addEventListener('dropped', (m) => {
    droppedTotal += Number((m as MessageEvent<string>).data) || 0;
    setStatus(paused ? 'Paused.' : 'Following arrivals.');
  });
  source.addEventListener('end', (m) => {
    ended = true;
    source.close();
    setStatus(`Stopped: ${(m as MessageEvent<string>).data}.`);
  });
  source.addEventListener('error', () => {
    if (ended) return;
    // The browser reconnects by itself (retry 5 s); a refusal (429/503) or a signed-out session
    // closes the source for good.
    setStatus(
      source.readyState === EventSource.CLOSED
        ? 'Disconnected: reload the page (signed out, or too many live pages open).'
        : 'Connection lost: reconnecting…',
    );
  });
  channel?.addEventListener('message', (m) => {
    if (m.data !== 'signed-out') return;
    ended = true;
    source.close();
    setStatus('Stopped: signed out.');
  });
  window.addEventListener('pagehide', () => source.close());
}
