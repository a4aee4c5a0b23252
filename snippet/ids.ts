import { nanoid } from 'nanoid';
import { load, save } from './store.ts';

/** A random visitor id kept in first-party storage: no cookie, nothing personal in it. */
export const visitor = load('ms_v') || save('ms_v', nanoid());

/** A session ends after 30 minutes without events, as in common analytics tools. */
const IDLE = 18e5;

/**
 * The session id for an event at `now`. Stored as `id.lastActivity` in localStorage, so tabs of
 * one visitor share a session and a tab left idle starts a new one.
 */
export const session = (now: number): string => {
  const [id, last] = (load('ms_s') || '').split('.');
  const sid = id && now - +last! < IDLE ? id : nanoid();
  save('ms_s', sid + '.' + now);
  return sid;
};
