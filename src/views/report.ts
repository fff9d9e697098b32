import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { readJsonl } from "../io/jsonl.ts";
import { writeFileAtomic } from "../io/disk.ts";
import { collectedRecords, stageOf, type Manifest } from "../run/manifest.ts";
import { lastStage, serviceOf } from "../run/config.ts";
import { formatUsd } from "../api/pricing.ts";
import { stageRows, summarize } from "../run/totals.ts";
import { checkRunFiles, exportInputs, samplesFile } from "../run/files.ts";
import type { Params } from "../dataset/params.ts";
import { REPORT_STYLE, reportPageSource } from "./report-page.ts";
import type { SampleResult } from "../run/records.ts";
import { duplicateFinder, type Duplicate } from "../pipeline/dedup.ts";
import { statsOfRun, type RunStats } from "./stats.ts";

const TABLE_ROWS = 5_000;
/** The valid samples searched for near duplicates: enough to see a model repeating itself. */
const DUPLICATE_POOL = 20_000;

interface Stats {
  promptTokens: number[];
  completionTokens: number[];
  reasons: Map<string, number>;
  coverage: Map<string, Map<string, number>>;
  drawn: number;
  /** Every answer read, of which the table holds the first TABLE_ROWS. */
  answers: number;
  rows: TableRow[];
  poolSize: number;
  duplicates: Duplicate[];
}

interface TableRow {
  sample: number;
  id: string;
  /** With stages: the stage the answer is of. */
  stage?: number;
  attempt: number;
  status: string;
  reason: string;
  labels: string;
  text: string;
  cost: number;
}

/** `synthai report`: writes runs/<id>/report.html, one file with its data, charts and script inside. */
export async function writeReport(
  runDir: string,
  manifest: Manifest,
  params: Params | undefined,
): Promise<string> {
  const stats = await gather(runDir, manifest);
  const headline = headlineRows(manifest);
  const figures = runCharts(manifest, stats, params);
  // The figures of `synthai stats`, once the run has ended (they read its kept samples).
  const known = ["done", "stopped"].includes(manifest.state) ? await statsOfRun(runDir, manifest) : undefined;
  const knowing = known ? knowYourData(known) : undefined;
  const charts = [
    figures.prompt,
    figures.completion,
    ...figures.coverage.map((c) => c.chart),
    figures.reasons,
    ...(figures.timeline ? [figures.timeline] : []),
    ...(knowing?.charts ?? []),
  ];
  const sections = reportSections(manifest, stats, figures, knowing?.html);
  const html = page(manifest, headline, sections, charts, stats.rows, stats.answers);
  const path = join(runDir, "report.html");
  writeFileAtomic(path, html, { sync: false });
  return path;
}

/** The figures atop the page: what was asked, kept and given up, and what it cost. */
function headlineRows(manifest: Manifest): [string, string][] {
  const summary = summarize(manifest);
  // With stages, what a dataset holds is what every stage kept: its cost is per kept sample.
  const [per, made] =
    summary.kept !== undefined ? ["kept sample", summary.kept] : ["valid sample", summary.valid];
  return [
    ["samples asked", String(summary.asked)],
    [summary.kept !== undefined ? "valid (stage 1's answers)" : "valid", String(summary.valid)],
    ["samples re-requested", String(summary.reRequested)],
    ["given up", String(summary.givenUp)],
    [`cost (${manifest.config.mode} price)`, formatUsd(summary.costUsd)],
    [`cost per ${per}`, formatUsd(made ? summary.costUsd / made : 0)],
    ["saved vs. standard price", formatUsd(summary.standardUsd - summary.costUsd)],
    ["answered from the cache", `${summary.fromCache.hits} (saved ${formatUsd(summary.fromCache.savedUsd)})`],
    [
      "prompt tokens cached",
      `${percent(summary.cachedTokens, summary.promptTokens)} (saved ${formatUsd(summary.cacheSavedUsd)})`,
    ],
    ["left empty by reasoning", String(summary.reasoningEmpty)],
    ...stageRows(summary),
  ];
}

/** The report's own charts (those of `synthai stats` apart), drawn from what `gather` read. */
interface RunCharts {
  prompt: ChartSpec;
  completion: ChartSpec;
  coverage: { name: string; chart: ChartSpec }[];
  reasons: ChartSpec;
  timeline: ChartSpec | undefined;
}

function runCharts(manifest: Manifest, stats: Stats, params: Params | undefined): RunCharts {
  // Each parameter's number of values, for the share each would have if all came up as often.
  const expected = new Map<string, number>();
  for (const parameters of Object.values(params ?? {}))
    for (const [name, values] of Object.entries(parameters)) expected.set(name, values.length);
  const coverage = [...stats.coverage].map(([name, values], i) => ({
    name,
    chart: coverageChart(`chart-coverage-${i}`, values, stats.drawn, expected.get(name)),
  }));
  const timeline = timelineChart(manifest);
  const reasons: ChartSpec = {
    id: "chart-reasons",
    kind: "bars",
    labels: [...stats.reasons].sort((a, b) => b[1] - a[1]).map(([label]) => label.slice(0, 60)),
    series: [{ name: "answers", values: [...stats.reasons].sort((a, b) => b[1] - a[1]).map(([, n]) => n) }],
    x: "answers",
    y: "why",
  };
  const prompt = histogramChart("chart-prompt", stats.promptTokens, "prompt tokens per sample");
  const completion = histogramChart(
    "chart-completion",
    stats.completionTokens,
    "completion tokens per sample",
  );
  return { prompt, completion, coverage, reasons, timeline };
}

/** The page's sections, in order; `knowing` is the `synthai stats` section once the run has ended. */
function reportSections(
  manifest: Manifest,
  stats: Stats,
  { prompt, completion, coverage, reasons, timeline }: RunCharts,
  knowing: string | undefined,
): string {
  const noValid = "<p>No valid samples yet.</p>";
  const sections = [
    section("Prompt tokens per valid sample", stats.promptTokens.length ? canvas(prompt, 0) : noValid),
    section(
      "Completion tokens per valid sample",
      stats.completionTokens.length ? canvas(completion, 0) : noValid,
    ),
    section(
      "Parameter coverage (drawn share of each value, beside the share expected if every value came up as often)",
      coverage
        .map(({ name, chart }) => `<h3>${esc(name)}</h3>${canvas(chart, chart.labels.length)}`)
        .join(""),
    ),
    section(
      "Why answers were not valid",
      stats.reasons.size ? canvas(reasons, reasons.labels.length) : "<p>Every answer was valid.</p>",
    ),
    section(
      "Batches over time",
      timeline ? canvas(timeline, timeline.labels.length) : "<p>No batch submitted yet.</p>",
    ),
    section(
      "Diversity and balance (the figures of `synthai stats`)",
      knowing ??
        `<p>Measured once the run has ended: <code>synthai report ${esc(manifest.id)}</code> again then.</p>`,
    ),
    section(
      `Near-duplicate samples (among the first ${stats.poolSize.toLocaleString("en")} valid ones${lastStage(manifest.config) > 1 ? " of stage 1" : ""})`,
      stats.duplicates.length
        ? `<ul id="duplicates">${stats.duplicates.slice(0, 100).map(duplicateItem).join("")}</ul>` +
            `<p>${stats.duplicates.length} found; <code>synthai export ${esc(manifest.id)} --dedup near</code> ` +
            "leaves them out of an export.</p>"
        : '<p id="duplicates">None found.</p>',
    ),
  ];
  return sections.join("");
}

async function gather(runDir: string, manifest: Manifest): Promise<Stats> {
  const stats: Stats = {
    promptTokens: [],
    completionTokens: [],
    reasons: new Map(),
    coverage: new Map(),
    drawn: 0,
    answers: 0,
    rows: [],
    poolSize: 0,
    duplicates: [],
  };
  // Read as they are, damaged files would be misreported (or a stack trace): each is checked first, as for an export.
  const read = [...manifest.chunks.map((c) => c.drawsFile), ...exportInputs(manifest, { judgeAgain: false })];
  await checkRunFiles(runDir, manifest, [...new Set(read)]);
  for (const chunk of manifest.chunks) {
    for await (const draw of readJsonl<{ labels: Record<string, string> }>(join(runDir, chunk.drawsFile))) {
      stats.drawn++;
      for (const [name, value] of Object.entries(draw.labels)) {
        const values = stats.coverage.get(name) ?? new Map<string, number>();
        values.set(value, (values.get(value) ?? 0) + 1);
        stats.coverage.set(name, values);
      }
    }
  }
  // Generated values (phone numbers…) are all different: coverage is only for listed parameters.
  for (const [name, values] of stats.coverage) if (values.size > 50) stats.coverage.delete(name);
  const isDuplicate = duplicateFinder("near");
  const staged = lastStage(manifest.config) > 1;
  for (const record of collectedRecords(manifest)) {
    for await (const s of readJsonl<SampleResult>(join(runDir, samplesFile(record)))) {
      stats.answers++;
      if (s.status === "ok") {
        stats.promptTokens.push(s.prompt_tokens);
        stats.completionTokens.push(s.completion_tokens);
        // The dataset's texts are the first stage's: a judge's answers alike are no duplicate samples.
        if (stageOf(record) === 1 && stats.poolSize < DUPLICATE_POOL) {
          stats.poolSize++;
          const found = isDuplicate(s);
          if (found) stats.duplicates.push(found);
        }
      } else {
        const reason = (s.reason ?? s.status).split(":")[0]!;
        stats.reasons.set(`${s.status}: ${reason}`, (stats.reasons.get(`${s.status}: ${reason}`) ?? 0) + 1);
      }
      if (stats.rows.length < TABLE_ROWS) {
        stats.rows.push({
          sample: s.sample,
          id: s.custom_id,
          ...(staged ? { stage: stageOf(record) } : {}),
          attempt: s.attempt,
          status: s.status === "ok" ? "ok" : s.retry ? `${s.status} (asked again)` : `${s.status} (given up)`,
          reason: s.reason ?? "",
          labels: Object.entries(s.labels)
            .map(([k, v]) => `${k}=${v}`)
            .join(", "),
          text: s.fields
            ? Object.entries(s.fields)
                .map(([k, v]) => `[${k}] ${v}`)
                .join("\n")
            : (s.answer ?? ""),
          cost: s.cost_usd,
        });
      }
    }
  }
  return stats;
}

const esc = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const pct = (x: number) => Math.round(1000 * x) / 10;

/**
 * The report's view of `synthai stats`: a table and a chart of each text field's diversity, and
 * a chart of each label's shares beside those asked and of each judge score's counts.
 */
function knowYourData(stats: RunStats): { html: string; charts: ChartSpec[] } {
  const measures = [
    "distinct 1-grams",
    "distinct 2-grams",
    "distinct 3-grams",
    "8-grams repeated",
    "self-BLEU",
  ];
  const diversity: ChartSpec = {
    id: "chart-diversity",
    kind: "bars",
    labels: measures,
    series: stats.texts.map((t) => ({
      name: t.field,
      values: [...t.distinct.map(pct), pct(t.repeated8.share), pct(t.selfBleu.score)],
    })),
    x: "% (distinct: higher is more diverse; repeated and self-BLEU: lower is)",
    y: "measure",
  };
  const labels: ChartSpec[] = stats.labels.map((label, i) => ({
    id: `chart-balance-${i}`,
    kind: "bars",
    labels: label.shares.map((s) => s.value.slice(0, 60)),
    series: [
      { name: "kept", values: label.shares.map((s) => pct(s.share)) },
      ...(label.shares.some((s) => s.expected !== undefined)
        ? [{ name: "expected", values: label.shares.map((s) => pct(s.expected ?? 0)) }]
        : []),
    ],
    x: "% of kept samples",
    y: label.label,
  }));
  const scores: ChartSpec[] = stats.scores.map((score, i) => ({
    id: `chart-scores-${i}`,
    kind: "bars",
    labels: Object.keys(score.counts),
    series: [{ name: "samples", values: Object.values(score.counts) }],
    x: "samples",
    y: score.field,
  }));
  const table =
    "<table><tr><th>field</th><th>words (mean / p90 / max)</th><th>compression ratio</th>" +
    "<th>8-grams repeated (of)</th><th>self-BLEU (of)</th></tr>" +
    stats.texts
      .map(
        (t) =>
          `<tr><td>${esc(t.field)}</td><td>${t.words.mean.toFixed(0)} / ${t.words.p90} / ${t.words.max}</td>` +
          `<td>${t.compression.toFixed(2)}</td><td>${pct(t.repeated8.share)}% (${t.repeated8.sampled})</td>` +
          `<td>${t.selfBleu.score.toFixed(3)} (${t.selfBleu.sampled})</td></tr>`,
      )
      .join("") +
    "</table>";
  const html = [
    `<p>${stats.samples} kept samples; near duplicates ${pct(stats.nearDuplicates.share)}% of the first ` +
      `${stats.nearDuplicates.sampled}. <code>synthai stats</code> prints the same, and compares two runs.</p>`,
    stats.texts.length ? `${table}${canvas(diversity, measures.length * stats.texts.length)}` : "",
    ...stats.labels.map(
      (label, i) =>
        `<h3>${esc(label.label)}${label.unbalanced ? " — differs from what was asked beyond chance" : ""}</h3>` +
        canvas(labels[i]!, label.shares.length * labels[i]!.series.length),
    ),
    ...stats.scores.map(
      (score, i) =>
        `<h3>${esc(score.field)} (judge's scores)</h3>${canvas(scores[i]!, scores[i]!.labels.length)}`,
    ),
  ].join("");
  return { html, charts: [...(stats.texts.length ? [diversity] : []), ...labels, ...scores] };
}

/** A chart for Chart.js to draw: its kind, its data, and its axes' titles. */
interface ChartSpec {
  id: string;
  kind: "histogram" | "bars" | "timeline";
  labels: string[];
  series: { name: string; values: unknown[] }[];
  x: string;
  y: string;
  /** The x axis from, to: a time axis spans the run, not the years since 1970. */
  range?: [number, number];
}

function section(title: string, body: string): string {
  return `<section><h2>${esc(title)}</h2>${body}</section>`;
}

function canvas(chart: ChartSpec, rows: number): string {
  // Horizontal bars need room per row; the others a fixed height.
  const height = chart.kind === "histogram" ? 260 : Math.max(120, rows * 24 + 70);
  return (
    `<div class="chart" style="height:${height}px"><canvas id="${chart.id}" role="img" ` +
    `aria-label="${esc(chart.x)} by ${esc(chart.y)}"></canvas></div>`
  );
}

/**
 * Counts in at most 30 bins of whole numbers, from the smallest value to the largest: bars
 * fill the axis whatever the spread. Not Math.min(...values): spread over a million values
 * overflows the call stack.
 */
export function histogram(values: number[]): { labels: string[]; counts: number[] } {
  if (!values.length) return { labels: [], counts: [] };
  let [min, max] = [Infinity, -Infinity];
  for (const v of values) [min, max] = [Math.min(min, v), Math.max(max, v)];
  const width = Math.max(1, Math.ceil((max - min + 1) / 30));
  const bins = Math.ceil((max - min + 1) / width);
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) counts[Math.floor((v - min) / width)]!++;
  const labels = counts.map((_, i) => {
    const low = min + i * width;
    return width === 1 ? String(low) : `${low}–${low + width - 1}`;
  });
  return { labels, counts };
}

function histogramChart(id: string, values: number[], x: string): ChartSpec {
  const { labels, counts } = histogram(values);
  return {
    id,
    kind: "histogram",
    labels,
    series: [{ name: "valid samples", values: counts }],
    x,
    y: "valid samples",
  };
}

function coverageChart(
  id: string,
  values: Map<string, number>,
  total: number,
  expectedValues: number | undefined,
): ChartSpec {
  const entries = [...values].sort((a, b) => b[1] - a[1]);
  const percent = (n: number) => Math.round((n / total) * 1000) / 10;
  return {
    id,
    kind: "bars",
    labels: entries.map(([value]) => value.slice(0, 60)),
    series: [
      { name: "drawn", values: entries.map(([, n]) => percent(n)) },
      ...(expectedValues
        ? [{ name: "expected", values: entries.map(() => Math.round(1000 / expectedValues) / 10) }]
        : []),
    ],
    x: "share of the drawn samples (%)",
    y: "value",
  };
}

function timelineChart(manifest: Manifest): ChartSpec | undefined {
  const batches = manifest.batches.filter((b) => b.createdAt);
  if (!batches.length) return undefined;
  const staged = lastStage(manifest.config) > 1;
  const now = batches.reduce((m, b) => Math.max(m, b.finishedAt ?? b.createdAt!), 0);
  const start = batches.reduce((m, b) => Math.min(m, b.createdAt!), Infinity);
  return {
    id: "chart-timeline",
    kind: "timeline",
    labels: batches.map((b) => `${staged ? `stage ${stageOf(b)} ` : ""}chunk ${b.chunk} try ${b.attempt}`),
    series: [
      {
        name: "batch",
        // Seconds to milliseconds, for the time axis; a batch still running ends at the last news.
        values: batches.map((b) => ({
          span: [b.createdAt! * 1000, Math.max(b.createdAt! + 1, b.finishedAt ?? now) * 1000],
          status: b.status ?? "",
          label:
            `${b.batchId ?? ""} ${b.status ?? ""}: ${b.requests} requests, ` +
            `${Math.round((b.finishedAt ?? now) - b.createdAt!)} s`,
        })),
      },
    ],
    x: "time (your clock)",
    y: "batch",
    range: [start * 1000, Math.max(start + 1, now) * 1000],
  };
}

/**
 * Chart.js and its time adapter (date-fns inside), read once per report to go inline: the page opens without a
 * network.
 */
function chartLibrary(): string {
  const require = createRequire(import.meta.url);
  const chart = join(dirname(require.resolve("chart.js")), "chart.umd.min.js");
  const adapter = join(
    dirname(require.resolve("chartjs-adapter-date-fns")),
    "chartjs-adapter-date-fns.bundle.min.js",
  );
  return [chart, adapter]
    .map((file) => readFileSync(file, "utf8").replace(/<\/script/gi, "<\\/script"))
    .join("\n");
}

/** JSON inside a script tag: "<" is escaped so no sample text can end it. */
const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, "\\u003c");

function page(
  manifest: Manifest,
  headline: [string, string][],
  sections: string,
  charts: ChartSpec[],
  rows: TableRow[],
  answers: number,
): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>synthai run ${esc(manifest.id)}</title>
<style>${REPORT_STYLE}</style></head><body>
<h1>synthai run ${esc(manifest.id)}</h1>
<p>${esc(manifest.config.model)} on ${esc(serviceOf(manifest.config))} · created ${esc(manifest.createdAt)} · state ${esc(manifest.state)}
 · seed ${manifest.config.seed}</p>
<div class="headline">${headline.map(([k, v]) => `<div>${esc(k)}<b>${esc(v)}</b></div>`).join("")}</div>
${sections}
<section><h2>Samples</h2>
<input id="search" type="search" placeholder="search text, parameters, reasons…" size="40">
<select id="status">
<option value="">every status</option><option value="ok">valid</option><option value="bad">not valid</option>
</select>
<button id="previous">← previous</button><button id="next">next →</button>
<span id="count"></span>
${answers > rows.length ? held(manifest.id, rows.length, answers) : ""}
<table>
<thead><tr><th>sample</th>${lastStage(manifest.config) > 1 ? "<th>stage</th>" : ""}<th>try</th><th>status</th><th>parameters</th><th>text</th><th>cost</th></tr></thead>
<tbody id="rows"></tbody>
</table>
</section>
<script id="data" type="application/json">${scriptJson(rows)}</script>
<script id="charts" type="application/json">${scriptJson(charts)}</script>
<script>${chartLibrary()}</script>
<script>${reportPageSource()}</script></body></html>
`;
}

function duplicateItem(d: {
  sample_id: string;
  kind: string;
  similarity: number;
  duplicate_of: string;
}): string {
  const like = d.kind === "exact" ? "repeats" : `is ${(d.similarity * 100).toFixed(0)}% like`;
  return `<li>sample ${esc(d.sample_id)} ${like} ${esc(d.duplicate_of)}</li>`;
}

/** Where the table holds fewer answers than the run has: how to see the rest. */
function held(runId: string, shown: number, answers: number): string {
  const count = (n: number) => n.toLocaleString("en");
  return (
    `<p id="held">The table holds the first ${count(shown)} of the run's ${count(answers)} answers; ` +
    `<code>synthai inspect ${esc(runId)} --limit 0</code> shows all of them, <code>--sample N</code> any one.</p>`
  );
}

function percent(part: number, whole: number): string {
  return `${whole ? ((100 * part) / whole).toFixed(1) : "0.0"}%`;
}
