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

/** Stops now, or once the step under way has ended; a second request stops now. True when held. */
export function stopWhenSafe(stop: () => void): boolean {
  if (inside === 0 || pending) {
    stop();
    return false;
  }
  pending = stop;
  return true;
}
