import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { readJsonl } from "../io/jsonl.ts";
import { collectedRecords, type Manifest } from "../run/manifest.ts";
import { formatUsd } from "../api/pricing.ts";
import { summarize } from "../run/totals.ts";
import { samplesFile } from "../run/files.ts";
import { type Params } from "../dataset/params.ts";
import { type SampleResult } from "../pipeline/judge.ts";

const TABLE_ROWS = 5_000;
const DUPLICATE_POOL = 1_500;
const DUPLICATE_THRESHOLD = 0.8;

interface Stats {
  promptTokens: number[];
  completionTokens: number[];
  reasons: Map<string, number>;
  coverage: Map<string, Map<string, number>>;
  drawn: number;
  /** Every answer read, of which the table holds the first TABLE_ROWS. */
  answers: number;
  rows: TableRow[];
  pool: { id: string; sample: number; shingles: Set<number> }[];
}

interface TableRow {
  sample: number;
  id: string;
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
  const summary = summarize(manifest);
  const duplicates = nearDuplicates(stats.pool);
  const expected = new Map<string, number>();
  for (const parameters of Object.values(params ?? {}))
    for (const [name, values] of Object.entries(parameters)) expected.set(name, values.length);
  const costPerValid = summary.valid ? summary.costUsd / summary.valid : 0;
  const headline: [string, string][] = [
    ["samples asked", String(summary.asked)],
    ["valid", String(summary.valid)],
    ["samples re-requested", String(summary.reRequested)],
    ["given up", String(summary.givenUp)],
    [`cost (${manifest.config.mode ?? "batch"} price)`, formatUsd(summary.costUsd)],
    ["cost per valid sample", formatUsd(costPerValid)],
    ["saved vs. standard price", formatUsd(summary.standardUsd - summary.costUsd)],
    [
      "prompt tokens cached",
      `${percent(summary.cachedTokens, summary.promptTokens)} (saved ${formatUsd(summary.cacheSavedUsd)})`,
    ],
    ["left empty by reasoning", String(summary.reasoningEmpty)],
  ];
  const sections = [
    section("Prompt tokens per valid sample", histogram(stats.promptTokens)),
    section("Completion tokens per valid sample", histogram(stats.completionTokens)),
    section(
      "Parameter coverage (drawn share; the line is the expected share)",
      [...stats.coverage]
        .map(([name, values]) => coverageChart(name, values, stats.drawn, expected.get(name)))
        .join(""),
    ),
    section(
      "Why answers were not valid",
      stats.reasons.size
        ? bars([...stats.reasons].sort((a, b) => b[1] - a[1]))
        : "<p>Every answer was valid.</p>",
    ),
    section("Batches over time", timeline(manifest)),
    section(
      `Near-duplicate samples (of the first ${Math.min(DUPLICATE_POOL, stats.pool.length)})`,
      duplicates.length
        ? `<ul id="duplicates">${duplicates.map(([a, b, j]) => `<li>samples ${a} and ${b}: ${(j * 100).toFixed(0)}% alike</li>`).join("")}</ul>`
        : '<p id="duplicates">None found.</p>',
    ),
  ];
  const html = page(manifest, headline, sections.join(""), stats.rows, stats.answers);
  const path = join(runDir, "report.html");
  await writeFile(path, html);
  return path;
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
    pool: [],
  };
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
  for (const record of collectedRecords(manifest)) {
    for await (const s of readJsonl<SampleResult>(join(runDir, samplesFile(record)))) {
      stats.answers++;
      if (s.status === "ok") {
        stats.promptTokens.push(s.prompt_tokens);
        stats.completionTokens.push(s.completion_tokens);
        if (stats.pool.length < DUPLICATE_POOL)
          stats.pool.push({
            id: s.custom_id,
            sample: s.sample,
            shingles: shingles(Object.values(s.fields ?? {}).join(" ")),
          });
      } else {
        const reason = (s.reason ?? s.status).split(":")[0]!;
        stats.reasons.set(`${s.status}: ${reason}`, (stats.reasons.get(`${s.status}: ${reason}`) ?? 0) + 1);
      }
      if (stats.rows.length < TABLE_ROWS) {
        stats.rows.push({
          sample: s.sample,
          id: s.custom_id,
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

/** Word 3-grams, hashed: two texts that share most of them say nearly the same thing. */
export function shingles(text: string): Set<number> {
  const words = text.toLowerCase().split(/\W+/).filter(Boolean);
  const out = new Set<number>();
  for (let i = 0; i + 2 < words.length; i++) {
    let h = 2166136261;
    for (const ch of `${words[i]} ${words[i + 1]} ${words[i + 2]}`)
      h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
    out.add(h >>> 0);
  }
  return out;
}

export function nearDuplicates(
  pool: { sample: number; shingles: Set<number> }[],
): [number, number, number][] {
  const found: [number, number, number][] = [];
  for (let i = 0; i < pool.length; i++) {
    for (let j = i + 1; j < pool.length; j++) {
      const a = pool[i]!.shingles;
      const b = pool[j]!.shingles;
      if (!a.size || !b.size) continue;
      let shared = 0;
      for (const h of a) if (b.has(h)) shared++;
      const jaccard = shared / (a.size + b.size - shared);
      if (jaccard >= DUPLICATE_THRESHOLD) found.push([pool[i]!.sample, pool[j]!.sample, jaccard]);
    }
  }
  return found.slice(0, 100);
}

const esc = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function section(title: string, body: string): string {
  return `<section><h2>${esc(title)}</h2>${body}</section>`;
}

/** A plain SVG histogram in 20 bins. */
export function histogram(values: number[]): string {
  if (!values.length) return "<p>No valid samples yet.</p>";
  // Not Math.min(...values): spread over a million values overflows the call stack.
  let [min, max] = [Infinity, -Infinity];
  for (const v of values) [min, max] = [Math.min(min, v), Math.max(max, v)];
  const bins = 20;
  const width = Math.max(1, (max - min + 1) / bins);
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) counts[Math.min(bins - 1, Math.floor((v - min) / width))]!++;
  const top = counts.reduce((a, b) => Math.max(a, b), 0);
  const rects = counts
    .map(
      (c, i) =>
        `<rect x="${i * 30 + 40}" y="${170 - (c / top) * 150}" width="26" height="${(c / top) * 150}"><title>${Math.round(min + i * width)}–${Math.round(min + (i + 1) * width)}: ${c}</title></rect>`,
    )
    .join("");
  return `<svg class="chart" viewBox="0 0 660 200" role="img"><g class="bars">${rects}</g><text x="40" y="190">${min}</text><text x="600" y="190">${max}</text><text x="0" y="25">${top}</text></svg>`;
}

function bars(entries: [string, number][]): string {
  const top = Math.max(...entries.map(([, n]) => n));
  const rows = entries
    .map(
      ([label, n], i) =>
        `<text x="0" y="${i * 24 + 16}">${esc(label.slice(0, 60))}</text><rect x="380" y="${i * 24 + 4}" width="${(n / top) * 260}" height="16"></rect><text x="${385 + (n / top) * 260}" y="${i * 24 + 16}">${n}</text>`,
    )
    .join("");
  return `<svg class="chart" viewBox="0 0 700 ${entries.length * 24 + 8}" role="img">${rows}</svg>`;
}

function coverageChart(
  name: string,
  values: Map<string, number>,
  total: number,
  expectedValues: number | undefined,
): string {
  const entries = [...values].sort((a, b) => b[1] - a[1]);
  const expectedShare = expectedValues ? 1 / expectedValues : undefined;
  const rows = entries
    .map(([value, n], i) => {
      const share = n / total;
      return `<text x="0" y="${i * 22 + 15}">${esc(value.slice(0, 48))}</text><rect x="320" y="${i * 22 + 4}" width="${share * 300}" height="15"><title>${(share * 100).toFixed(1)}%</title></rect><text x="${325 + share * 300}" y="${i * 22 + 15}">${(share * 100).toFixed(1)}%</text>`;
    })
    .join("");
  const line = expectedShare
    ? `<line class="expected" x1="${320 + expectedShare * 300}" x2="${320 + expectedShare * 300}" y1="0" y2="${entries.length * 22 + 4}"></line>`
    : "";
  return `<h3>${esc(name)}</h3><svg class="chart" viewBox="0 0 700 ${entries.length * 22 + 8}" role="img">${rows}${line}</svg>`;
}

function timeline(manifest: Manifest): string {
  const batches = manifest.batches.filter((b) => b.createdAt);
  if (!batches.length) return "<p>No batch submitted yet.</p>";
  const start = batches.reduce((m, b) => Math.min(m, b.createdAt!), Infinity);
  const end = batches.reduce((m, b) => Math.max(m, b.finishedAt ?? b.createdAt! + 1), start + 1);
  const scale = 520 / (end - start);
  const rows = batches
    .map((b, i) => {
      const x = 160 + (b.createdAt! - start) * scale;
      const w = Math.max(3, ((b.finishedAt ?? end) - b.createdAt!) * scale);
      return `<text x="0" y="${i * 22 + 15}">chunk ${b.chunk} try ${b.attempt}</text><rect class="${esc(b.status ?? "")}" x="${x}" y="${i * 22 + 4}" width="${w}" height="15"><title>${esc(b.batchId ?? "")} ${esc(b.status ?? "")}: ${b.requests} requests, ${Math.round((b.finishedAt ?? end) - b.createdAt!)} s</title></rect>`;
    })
    .join("");
  return `<svg class="chart" viewBox="0 0 700 ${batches.length * 22 + 8}" role="img">${rows}</svg>`;
}

function page(
  manifest: Manifest,
  headline: [string, string][],
  sections: string,
  rows: TableRow[],
  answers: number,
): string {
  // The data goes in as JSON inside a script tag: "<" is escaped so no sample text can end it.
  const data = JSON.stringify(rows).replace(/</g, "\\u003c");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>synthai run ${esc(manifest.id)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem;border-bottom:1px solid #ddd}
.headline{display:grid;grid-template-columns:repeat(auto-fit,minmax(140px,1fr));gap:.5rem}
.headline div{background:#f4f6fa;padding:.6rem;border-radius:6px}.headline b{display:block;font-size:1.3rem}
svg.chart{width:100%;max-width:700px;font-size:11px}svg rect{fill:#4a7bd0}svg rect.expired,svg rect.cancelled{fill:#d0a04a}svg rect.failed{fill:#d04a4a}
line.expected{stroke:#d04a4a;stroke-dasharray:4}
table{border-collapse:collapse;width:100%;font-size:12px}td,th{border-bottom:1px solid #eee;padding:4px;vertical-align:top;text-align:left}
td.text{white-space:pre-wrap;max-width:520px}input,select{padding:4px;margin:0 .5rem .5rem 0}
</style></head><body>
<h1>synthai run ${esc(manifest.id)}</h1>
<p>${esc(manifest.config.model)} · created ${esc(manifest.createdAt)} · state ${esc(manifest.state)} · seed ${manifest.config.seed}</p>
<div class="headline">${headline.map(([k, v]) => `<div>${esc(k)}<b>${esc(v)}</b></div>`).join("")}</div>
${sections}
<section><h2>Samples</h2>
<input id="search" type="search" placeholder="search text, parameters, reasons…" size="40">
<select id="status"><option value="">every status</option><option value="ok">valid</option><option value="bad">not valid</option></select>
<span id="count"></span>
${answers > rows.length ? `<p>The table holds the first ${rows.length.toLocaleString("en")} of the run's ${answers.toLocaleString("en")} answers; <code>synthai inspect ${esc(manifest.id)} --limit 0</code> shows all of them, <code>--sample N</code> any one.</p>` : ""}
<table><thead><tr><th>sample</th><th>try</th><th>status</th><th>parameters</th><th>text</th><th>cost</th></tr></thead><tbody id="rows"></tbody></table>
</section>
<script id="data" type="application/json">${data}</script>
<script>
const rows = JSON.parse(document.getElementById("data").textContent);
const body = document.getElementById("rows"), search = document.getElementById("search"), status = document.getElementById("status"), count = document.getElementById("count");
function cell(text, cls) { const td = document.createElement("td"); td.textContent = text; if (cls) td.className = cls; return td; }
function render() {
  const q = search.value.toLowerCase(), s = status.value;
  const shown = rows.filter((r) => (!s || (s === "ok") === (r.status === "ok")) && (!q || (r.text + " " + r.labels + " " + r.reason + " " + r.id).toLowerCase().includes(q)));
  body.replaceChildren(...shown.slice(0, 500).map((r) => {
    const tr = document.createElement("tr");
    tr.append(cell(r.sample + " (" + r.id + ")"), cell(r.attempt), cell(r.status + (r.reason ? ": " + r.reason : "")), cell(r.labels), cell(r.text, "text"), cell("$" + r.cost.toFixed(6)));
    return tr;
  }));
  count.textContent = shown.length + " of " + rows.length + " answers" + (shown.length > 500 ? " (first 500 shown)" : "");
}
search.addEventListener("input", render); status.addEventListener("change", render); render();
</script></body></html>
`;
}

function percent(part: number, whole: number): string {
  return `${whole ? ((100 * part) / whole).toFixed(1) : "0.0"}%`;
}
