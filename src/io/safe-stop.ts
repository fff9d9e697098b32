// Ctrl-C (and the SIGINT that `cancel` and `abandon` send) stops synthai at once, except inside
// a step the service may finish without the run having written it down: an upload and a batch's
// create. There the stop waits until the step's answer is recorded, so the run folder names
// every batch the service made, and `abandon` can cancel it.
let inside = 0;
let pending: (() => void) | undefined;

/** Runs `work` with any stop held until it has ended (and what it made is recorded). */
export async function unstoppable<T>(work: () => Promise<T>): Promise<T> {
  inside++;
  try {
    return await work();
  } finally {
    inside--;
    if (inside === 0 && pending) pending();
  }
}

/**
 * Stops now, or once the step under way has ended: true when newly held. A second request is
 * held too, not taken as "now": a terminal's Ctrl-C reaches the launcher's child twice (from the
 * terminal, and forwarded). `kill -9` stops at once; `resume` or `abandon` finds what was made.
 */
export function stopWhenSafe(stop: () => void): boolean {
  if (inside === 0) {
    stop();
    return false;
  }
  const first = pending === undefined;
  pending = stop;
  return first;
}
