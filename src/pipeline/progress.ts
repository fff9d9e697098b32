import { formatDuration } from "../io/log.ts";
import { stageOf, type BatchRecord, type Manifest, type RunConfig } from "../run/manifest.ts";
import { formatUsd } from "../api/pricing.ts";
import { VENDORS } from "../api/vendors.ts";
import { vendorOf } from "../run/config.ts";
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
  /** Of the requests in flight, those whose counts the service tells only once their batch ends (Anthropic, Gemini). */
  requestsUnknown: number;
  /** Batches in flight by the service's status word. */
  batches: Record<string, number>;
  elapsedSeconds: number;
  /** Once requests are coming back: the time left at the rate so far; or, without counts, from the vendor's typical time. */
  etaSeconds?: number;
  /** The ETA is an estimate from a vendor's typical batch time, not a rate. */
  etaEstimated?: boolean;
  /** Seconds until the first batch in flight expires. */
  expiresInSeconds?: number;
}

export function progressOf(manifest: Manifest, now = Date.now() / 1000): Progress {
  // While running: the batches in flight; once ended, every batch the run sent.
  const ended = manifest.state === "done" || manifest.state === "stopped";
  const open = manifest.batches.filter((b) => ended || b.step === "submitted" || b.step === "finished");
  const batches: Record<string, number> = {};
  for (const b of open) batches[b.status ?? "?"] = (batches[b.status ?? "?"] ?? 0) + 1;
  const unknown = open.filter((b) => countsUnknown(manifest.config, b));
  const total = open.reduce((s, b) => s + (b.requestCounts?.total || b.requests), 0);
  const done = open.reduce((s, b) => s + requestsDone(b), 0);
  const queued = manifest.batches
    .filter((b) => b.step === "pending" || b.step === "uploaded")
    .reduce((s, b) => s + b.requests, 0);
  const elapsed = now - Math.min(...open.map((b) => b.createdAt ?? now));
  const { valid, asked } = summarize(manifest);
  const expiries = open.filter((b) => b.step === "submitted" && b.expiresAt).map((b) => b.expiresAt!);
  const byRate = done > 0 && done < total ? (elapsed * (total - done + queued)) / done : undefined;
  const estimated = typicalTimeLeft(manifest.config, unknown, now);
  const eta = estimated !== undefined ? Math.max(estimated, byRate ?? 0) : byRate;
  return {
    state: manifest.state,
    valid,
    asked,
    spentUsd: spentUsd(manifest),
    round: Math.max(1, ...open.map((b) => b.attempt)),
    requestsDone: done,
    requestsFailed: open.reduce((s, b) => s + (b.requestCounts?.failed ?? 0), 0),
    requestsTotal: total,
    requestsUnknown: unknown.reduce((s, b) => s + (b.requestCounts?.total || b.requests), 0),
    batches,
    elapsedSeconds: elapsed,
    ...(eta !== undefined ? { etaSeconds: eta } : {}),
    ...(estimated !== undefined ? { etaEstimated: true } : {}),
    ...(expiries.length ? { expiresInSeconds: Math.min(...expiries) - now } : {}),
  };
}

/**
 * Whether a batch in flight has no request counts to show until it ends: its vendor tells none
 * while it runs (Anthropic's stay 0 but `processing`; Gemini's are little), so 0 done means unknown.
 */
/**
 * The requests a batch has run, as its service counts them; a batch that has ended without
 * counts (Gemini gives none) has run them all.
 */
function requestsDone(record: BatchRecord): number {
  const counted = record.requestCounts ? record.requestCounts.completed + record.requestCounts.failed : 0;
  const ended = record.step === "finished" || record.step === "collected";
  return counted > 0 || !ended ? counted : record.requestCounts?.total || record.requests;
}

export function countsUnknown(config: RunConfig, record: BatchRecord): boolean {
  if (record.step !== "submitted" || VENDORS[vendorOf(config, stageOf(record))].liveCounts) return false;
  const counts = record.requestCounts;
  return !counts || counts.completed + counts.failed === 0;
}

/** Time left until the last of these batches reaches its vendor's typical time; none once all are past it. */
function typicalTimeLeft(config: RunConfig, records: BatchRecord[], now: number): number | undefined {
  const left = records.map((b) => {
    const typical = VENDORS[vendorOf(config, stageOf(b))].typicalHours * 3600;
    return (b.createdAt ?? now) + typical - now;
  });
  const longest = Math.max(0, ...left);
  return longest > 0 ? longest : undefined;
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
    { text: etaText(p), always: true },
    { text: requestsText(p), always: false },
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

export function etaText(p: Progress): string {
  if (p.etaSeconds === undefined) return "";
  return p.etaEstimated
    ? `ETA ~${formatDuration(p.etaSeconds)} (an estimate)`
    : `ETA ${formatDuration(p.etaSeconds)}`;
}

/** Requests done of those in flight; those whose counts the service tells only at the end are said to be unknown, never 0 done. */
export function requestsText(p: Progress): string {
  const failed = p.requestsFailed ? ` (${p.requestsFailed} failed)` : "";
  if (p.requestsUnknown === 0) return `${p.requestsDone}/${p.requestsTotal} requests${failed}`;
  const unknown = `${p.requestsUnknown} requests unknown until the batch ends`;
  const known = p.requestsTotal - p.requestsUnknown;
  return known > 0 ? `${p.requestsDone}/${known} requests${failed}, ${unknown}` : unknown;
}
