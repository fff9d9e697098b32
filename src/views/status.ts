import { join } from "node:path";
import { checkRunsDir } from "../io/disk.ts";
import { table } from "./table.ts";
import { formatDuration } from "../io/log.ts";
import { listRunIds, loadManifest, type Manifest } from "../run/manifest.ts";
import { formatUsd } from "../api/pricing.ts";
import { fromCacheText, madeCount, madeOf, stageRows, summarize, type RunSummary } from "../run/totals.ts";
import { serviceOf } from "../run/config.ts";
import { countsUnknown, etaText, progressOf, requestsText } from "../pipeline/progress.ts";
import { EXIT, type ExitCode } from "../errors.ts";

/** Every run in the runs folder; a run whose manifest cannot be read is listed as such. */
export async function listRuns(
  runsDir: string,
): Promise<(RunSummary | { id: string; state: "unreadable"; reason: string })[]> {
  checkRunsDir(runsDir);
  const out = [];
  for (const id of await listRunIds(runsDir)) {
    try {
      out.push(summarize(await loadManifest(join(runsDir, id))));
    } catch (error) {
      out.push({ id, state: "unreadable" as const, reason: (error as Error).message });
    }
  }
  return out;
}

export function formatRunList(runs: Awaited<ReturnType<typeof listRuns>>): string {
  if (runs.length === 0) return "no runs yet — start one with `synthai generate`";
  const rows = runs.map((r) =>
    "model" in r
      ? [
          r.id,
          r.createdAt.slice(0, 19).replace("T", " "),
          r.model,
          `${r.valid}/${r.asked}`,
          Object.entries(r.batches)
            .map(([k, v]) => `${v} ${k}`)
            .join(", "),
          formatUsd(r.costUsd),
          r.state,
        ]
      : [r.id, "", "", "", "", "", `unreadable: ${r.reason}`],
  );
  return table([["RUN", "CREATED", "MODEL", "SAMPLES", "BATCHES", "COST", "STATE"], ...rows]);
}

export function formatRunDetail(manifest: Manifest, now = Date.now() / 1000): string {
  const s = summarize(manifest);
  const ownExport = manifest.exports?.find((e) => e.csvFile === manifest.config.output);
  const window = manifest.config.completionWindow ? ` (window ${manifest.config.completionWindow})` : "";
  const emptied = s.reasoningEmpty ? `; ${s.reasoningEmpty} answers left empty by reasoning` : "";
  const exported = ownExport?.done ? ` (${ownExport.rows} rows from index ${ownExport.firstIndex})` : "";
  const lines = [
    `run ${s.id} · ${s.state}${s.reason ? ` (${s.reason})` : ""}`,
    `created ${s.createdAt} · model ${s.model} on ${serviceOf(manifest.config)}${window} · ` +
      `seed ${manifest.config.seed}`,
    `samples ${s.valid}/${s.asked} valid${s.kept !== undefined ? " in stage 1" : ""}, ${s.reRequested} re-requested, ${s.givenUp} given up · ` +
      `cost ${formatUsd(s.costUsd)} at ${manifest.config.mode} price${fromCacheText(s, " · ")}`,
    `tokens ${s.promptTokens} prompt, ${s.cachedTokens} of them cached ` +
      `(${s.promptTokens ? ((100 * s.cachedTokens) / s.promptTokens).toFixed(1) : "0.0"}%, ` +
      `saved ${formatUsd(s.cacheSavedUsd)}); ` +
      `${s.reasoningTokens} reasoning${emptied}`,
    `output ${manifest.config.output}${exported}`,
    ...stageRows(s).map(([what, value]) => `${what}: ${value}`),
    ...(s.state === "done" && madeOf(s) === "short"
      ? [
          `--fill: ${madeCount(s)} of ${s.fillTarget} kept, short of its target: ` +
            `\`synthai resume ${s.id} --max-draws N\` draws more`,
        ]
      : []),
    ...withoutCounts(manifest, now),
    "",
  ];
  const rows = manifest.batches.map((b) => {
    const counts = countsUnknown(manifest.config, b)
      ? `${b.requests}, unknown until the batch ends`
      : b.requestCounts
        ? `${b.requestCounts.completed}+${b.requestCounts.failed}/${b.requestCounts.total}`
        : `${b.requests}`;
    const phases = [
      b.inProgressAt && b.createdAt ? `validating ${formatDuration(b.inProgressAt - b.createdAt)}` : "",
      b.finalizingAt && b.inProgressAt ? `running ${formatDuration(b.finalizingAt - b.inProgressAt)}` : "",
      b.finishedAt && b.createdAt ? `total ${formatDuration(b.finishedAt - b.createdAt)}` : "",
      !b.finishedAt && b.expiresAt ? `expires in ${formatDuration(b.expiresAt - now)}` : "",
    ]
      .filter(Boolean)
      .join(", ");
    const c = b.collected;
    const result = c
      ? `${c.ok} ok, ${c.malformed} malformed, ${c.failed + c.missing} failed, ${c.truncated} cut, ` +
        `${c.reasoning ? `${c.reasoning} empty (reasoning), ` : ""}${c.givenUp} given up`
      : "";
    return [
      `${b.stage ? `s${b.stage}-` : ""}c${b.chunk}`,
      String(b.attempt),
      b.batchId ?? "-",
      b.status ?? b.step,
      counts,
      phases,
      result,
      c ? formatUsd(c.costUsd) : "",
    ];
  });
  return (
    lines.join("\n") +
    table([["CHUNK", "TRY", "BATCH", "STATUS", "REQUESTS", "TIMES", "RESULT", "COST"], ...rows])
  );
}

/** Batches whose vendor tells no counts until they end: said so, with an ETA from its typical time. */
function withoutCounts(manifest: Manifest, now: number): string[] {
  const progress = progressOf(manifest, now);
  if (progress.requestsUnknown === 0) return [];
  return [`in flight: ${[requestsText(progress), etaText(progress)].filter(Boolean).join(" · ")}`];
}

/**
 * For cron jobs: 0 done, 5 still under way, 6 needs attention (stopped, failed, not submitted,
 * samples given up, nothing valid, or --fill short of its target).
 */
export function statusExitCode(summary: RunSummary): ExitCode {
  if (summary.state === "done")
    return summary.givenUp > 0 || madeOf(summary) !== "all" ? EXIT.ATTENTION : EXIT.DONE;
  if (["building", "running", "exporting"].includes(summary.state)) return EXIT.UNDER_WAY;
  return EXIT.ATTENTION;
}
