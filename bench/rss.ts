// Preloaded into a measured process (`node --import ./bench/rss.ts`): on exit it appends the
// process's own peak RSS and CPU time to $BENCH_REPORT as one JSON line.
import { appendFileSync } from "node:fs";

process.on("exit", () => {
  const usage = process.resourceUsage();
  const report = process.env.BENCH_REPORT;
  if (report)
    appendFileSync(
      report,
      `${JSON.stringify({ maxRssKb: usage.maxRSS, cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6 })}\n`,
    );
});
