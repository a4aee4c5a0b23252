import type { PropValue, WireEvent } from '../shared/wire.ts';
import { newId, session } from './ids.ts';
import { send } from './transport.ts';

/** What `microseg.track(type, props)` takes: `value`, `currency` and `category` are wire fields. */
export type TrackProps = Record<string, PropValue | undefined> & {
  value?: number;
  currency?: string;
  category?: string | null;
};

/** Wire fields only the snippet itself sets (navigation, link target, …). */
export type Extra = Pick<WireEvent, 'nav' | 'ref' | 'target' | 'outbound'>;

/** The collector refuses longer URLs (LIMITS.urlLength); a long query string must not cost the event. */
export const cut = (u: string): string => u.slice(0, 2048);

/** Builds one event (unique id, client time, session, page) and hands it to the transport. */
export const track = (type: string, p: TrackProps = {}, extra?: Extra): void => {
  const { value, currency, category, ...props } = p;
  const ts = Date.now();
  send({
    id: newId(),
    type,
    ts,
    session: session(ts),
    url: cut(location.href),
    value,
    currency,
    category: category || undefined,
    props: Object.keys(props).length ? (props as Record<string, PropValue>) : undefined,
    ...extra,
  });
};
