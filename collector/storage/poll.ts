/**
 * A check of the database run now and then every `everyMs` until stopped: how each process learns
 * of what another saved (runtime rules, goals and their models). A failed check leaves what is in
 * force as it is and is logged; the next one tries again. The timer never keeps the process alive.
 */
type Log = (level: 'warn', msg: string, fields?: Record<string, unknown>) => void;

export interface Poll {
  /** Resolves after the first check (failed or not). */
  readonly ready: Promise<void>;
  stop(): void;
}

export function poll(check: () => Promise<void>, everyMs: number, log: Log, what: string): Poll {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const next = () => {
    if (stopped) return;
    timer = setTimeout(tick, everyMs);
    timer.unref();
  };
  const tick = async () => {
    try {
      await check();
    } catch (err) {
      // The database away for a moment: what is in force stays.
      if (!stopped) log('warn', `${what}: check failed`, { err: String(err) });
    }
    next();
  };
  const ready = check().catch((err: unknown) => {
    log('warn', `${what}: first load failed`, { err: String(err) });
  });
  void ready.then(next);
  return {
    ready,
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
