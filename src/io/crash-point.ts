/**
 * Test-only: SYNTHAI_CRASH_AT=<point> makes the process die there, as `kill -9` would;
 * `<point>@s2` only in a batch of stage 2.
 */
export function crashPoint(point: string, stage?: number): void {
  const at = process.env.SYNTHAI_CRASH_AT;
  if (at === point || (stage !== undefined && at === `${point}@s${stage}`)) {
    process.kill(process.pid, "SIGKILL");
  }
}
