import { formatDuration } from "../io/log.ts";
import type { Manifest } from "../run/manifest.ts";
import { formatUsd } from "../api/pricing.ts";
import { spentUsd, summarize } from "../run/totals.ts";

/** Where a run stands while it waits: what the progress line shows, as data (library `onProgress`). */
export interface Progress {
  /** The run's state: `running` while it waits; the last event, once it has ended, says how (done, stopped, …). */
  state: Manifest["state"];
  valid: number;
  asked: number;
  spentUsd: number;
  /** The highest retry round in flight (1: the first requests). */
  round: number;
  requestsDone: number;
  requestsFailed: number;
  requestsTotal: number;
  /** Batches in flight by the service's status word. */
  batches: Record<string, number>;
  elapsedSeconds: number;
  /** Once requests are coming back: the time left at the rate so far. */
  etaSeconds?: number;
  /** Seconds until the first batch in flight expires. */
  expiresInSeconds?: number;
}

export function progressOf(manifest: Manifest, now = Date.now() / 1000): Progress {
  // While running: the batches in flight; once ended, every batch the run sent.
  const ended = manifest.state === "done" || manifest.state === "stopped";
  const open = manifest.batches.filter((b) => ended || b.step === "submitted" || b.step === "finished");
  const batches: Record<string, number> = {};
  for (const b of open) batches[b.status ?? "?"] = (batches[b.status ?? "?"] ?? 0) + 1;
  const total = open.reduce((s, b) => s + (b.requestCounts?.total || b.requests), 0);
  const done = open.reduce(
    (s, b) => s + (b.requestCounts ? b.requestCounts.completed + b.requestCounts.failed : 0),
    0,
  );
  const queued = manifest.batches
    .filter((b) => b.step === "pending" || b.step === "uploaded")
    .reduce((s, b) => s + b.requests, 0);
  const elapsed = now - Math.min(...open.map((b) => b.createdAt ?? now));
  const { valid, asked } = summarize(manifest);
  const expiries = open.filter((b) => b.step === "submitted" && b.expiresAt).map((b) => b.expiresAt!);
  return {
    state: manifest.state,
    valid,
    asked,
    spentUsd: spentUsd(manifest),
    round: Math.max(1, ...open.map((b) => b.attempt)),
    requestsDone: done,
    requestsFailed: open.reduce((s, b) => s + (b.requestCounts?.failed ?? 0), 0),
    requestsTotal: total,
    batches,
    elapsedSeconds: elapsed,
    ...(done > 0 && done < total ? { etaSeconds: (elapsed * (total - done + queued)) / done } : {}),
    ...(expiries.length ? { expiresInSeconds: Math.min(...expiries) - now } : {}),
  };
}

/**
 * One line on the run as a whole: valid samples so far of those asked, the retry round, what
 * was spent, an ETA once there is a rate; then, as far as `width` allows, the batches in
 * flight, their requests, the time elapsed and the next expiry.
 */
export function progressLine(progress: Progress, width = Infinity): { line: string; key: string } {
  const p = progress;
  const key = Object.entries(p.batches)
    .map(([status, n]) => `${n} ${status}`)
    .join(", ");
  const open = Object.values(p.batches).reduce((s, n) => s + n, 0);
  // The run as a whole always shows; the rest goes in, in this order, while the line fits.
  const segments = [
    { text: `${p.valid}/${p.asked} valid`, always: true },
    { text: p.round > 1 ? `round ${p.round}` : "", always: true },
    { text: `spent ${formatUsd(p.spentUsd)}`, always: true },
    { text: p.etaSeconds !== undefined ? `ETA ${formatDuration(p.etaSeconds)}` : "", always: true },
    {
      text: `${p.requestsDone}/${p.requestsTotal} requests${p.requestsFailed ? ` (${p.requestsFailed} failed)` : ""}`,
      always: false,
    },
    { text: `${open} batch(es): ${key}`, always: false },
    { text: formatDuration(p.elapsedSeconds), always: false },
    {
      text: p.expiresInSeconds !== undefined ? `expires in ${formatDuration(p.expiresInSeconds)}` : "",
      always: false,
    },
  ].filter((segment) => segment.text);
  const line = (shown: typeof segments) =>
    `waiting: ${segments
      .filter((s) => shown.includes(s))
      .map((s) => s.text)
      .join(" · ")}`;
  const chosen = segments.filter((segment) => segment.always);
  for (const segment of segments)
    if (!segment.always && line([...chosen, segment]).length <= width) chosen.push(segment);
  return { line: line(chosen), key };
}
