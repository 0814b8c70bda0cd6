/**
 * What both producer adapters do with a send that outlives its bound. Neither client can cancel a produce request,
 * so the producer is cut off (disconnected or closed: pending retries stop and no new connection opens), and the
 * failure is reported only once the send has settled. Otherwise a write of the old producer could land after the
 * caller already re-sent the batch with a fresh one.
 */

const TIMED_OUT = Symbol('timed out');

/**
 * Resolves when `sending` does within `timeoutMs`. Past it, calls `cutOff` and waits (again at most `timeoutMs`) for
 * `sending` to settle: it may still have succeeded, and then so does this. Rejects with the send's own error, or when
 * it does not settle after the cut-off. `cutOff` must not reject.
 */
export async function boundedSend(sending: Promise<unknown>, timeoutMs: number, cutOff: () => Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(resolve, timeoutMs, TIMED_OUT);
  });
  try {
    if ((await Promise.race([sending, timedOut])) !== TIMED_OUT) return;
    const stopped = cutOff();
    await Promise.race([sending, rejectAfter(timeoutMs, 'send did not settle after the producer was cut off')]);
    await stopped;
  } finally {
    clearTimeout(timer);
  }
}

export function rejectAfter(ms: number, message: string): Promise<never> {
  return new Promise<never>((_, reject) => {
    setTimeout(() => reject(new Error(message)), ms).unref();
  });
}
