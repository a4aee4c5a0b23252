/**
 * The outbox's types, for the webhook modules while they move to the storage contract: its SQL
 * is the backend's now (collector/storage/sqlite/outbox.ts), reached as `storage.outbox` / `tx.outbox`.
 */
import type { OutboxReads, OutboxWrites } from '../storage/contract.ts';

export type { DueDelivery, NewDelivery } from '../storage/contract.ts';

export type Outbox = OutboxReads & OutboxWrites;
