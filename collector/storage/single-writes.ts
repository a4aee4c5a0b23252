/**
 * The single writes of `Storage` (`storage.identity.setMeta(…)`, `storage.outbox.delivered(…)`):
 * each is a write job of its own through the backend's `write`, the same for every backend.
 */
import type { IdentityWrites, OutboxWrites, StorageTx } from './contract.ts';

type Write = <T>(job: (tx: StorageTx) => Promise<T>) => Promise<T>;

export const identityWritesAsJobs = (write: Write): IdentityWrites => ({
  ensureContact: (...a) => write((t) => t.identity.ensureContact(...a)),
  link: (...a) => write((t) => t.identity.link(...a)),
  setMeta: (...a) => write((t) => t.identity.setMeta(...a)),
  deleteMeta: (...a) => write((t) => t.identity.deleteMeta(...a)),
  claimAnonymousRows: (...a) => write((t) => t.identity.claimAnonymousRows(...a)),
});

export const outboxWritesAsJobs = (write: Write): OutboxWrites => ({
  enqueue: (...a) => write((t) => t.outbox.enqueue(...a)),
  takeTurn: (...a) => write((t) => t.outbox.takeTurn(...a)),
  delivered: (...a) => write((t) => t.outbox.delivered(...a)),
  attemptFailed: (...a) => write((t) => t.outbox.attemptFailed(...a)),
  replay: (...a) => write((t) => t.outbox.replay(...a)),
  prune: (...a) => write((t) => t.outbox.prune(...a)),
});
