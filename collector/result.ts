/**
 * The one shape of a success or a failure that modules hand back instead of throwing: test
 * `r.ok`, then read `r.value`, or `r.error` (a machine-readable code) and `r.message` (a sentence
 * for a person). A failure may carry more (an HTTP status), as `Failure & { status: 413 }`.
 */
export type Success<T> = { ok: true; value: T };
export type Failure<E extends string = string> = { ok: false; error: E; message: string };
export type Result<T, F extends Failure = Failure> = Success<T> | F;

export const success = <T>(value: T): Success<T> => ({ ok: true, value });

export const failure = <E extends string>(error: E, message: string): Failure<E> => ({
  ok: false,
  error,
  message,
});
