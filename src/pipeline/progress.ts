import { formatDuration } from "../io/log.ts";
import { type Manifest } from "../run/manifest.ts";
import { formatUsd } from "../api/pricing.ts";
import { spentUsd, summarize } from "../run/totals.ts";

/**
 * One line on the run as a whole: valid samples so far of those asked, the retry round, what
 * was spent, an ETA once there is a rate; then, as far as `width` allows, the batches in
 * flight, their requests, the time elapsed and the next expiry.
 */
export function progressLine(
  manifest: Manifest,
  { now = Date.now() / 1000, width = Infinity }: { now?: number; width?: number } = {},
): { line: string; key: string } {
  const open = manifest.batches.filter((b) => b.step === "submitted" || b.step === "finished");
  const byStatus = new Map<string, number>();
  for (const b of open) byStatus.set(b.status ?? "?", (byStatus.get(b.status ?? "?") ?? 0) + 1);
  const key = [...byStatus].map(([status, n]) => `${n} ${status}`).join(", ");
  const total = open.reduce((s, b) => s + (b.requestCounts?.total || b.requests), 0);
  const done = open.reduce(
    (s, b) => s + (b.requestCounts ? b.requestCounts.completed + b.requestCounts.failed : 0),
    0,
  );
  const failed = open.reduce((s, b) => s + (b.requestCounts?.failed ?? 0), 0);
  const queued = manifest.batches
    .filter((b) => b.step === "pending" || b.step === "uploaded")
    .reduce((s, b) => s + b.requests, 0);
  const elapsed = now - Math.min(...open.map((b) => b.createdAt ?? now));
  const round = Math.max(1, ...open.map((b) => b.attempt));
  const { valid, asked } = summarize(manifest);
  const expiries = open.filter((b) => b.step === "submitted" && b.expiresAt).map((b) => b.expiresAt!);
  // The run as a whole always shows; the rest goes in, in this order, while the line fits.
  const segments = [
    { text: `${valid}/${asked} valid`, always: true },
    { text: round > 1 ? `round ${round}` : "", always: true },
    { text: `spent ${formatUsd(spentUsd(manifest))}`, always: true },
    {
      text:
        done > 0 && done < total ? `ETA ${formatDuration((elapsed * (total - done + queued)) / done)}` : "",
      always: true,
    },
    { text: `${done}/${total} requests${failed ? ` (${failed} failed)` : ""}`, always: false },
    { text: `${open.length} batch(es): ${key}`, always: false },
    { text: formatDuration(elapsed), always: false },
    {
      text: expiries.length ? `expires in ${formatDuration(Math.min(...expiries) - now)}` : "",
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
