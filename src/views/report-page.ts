// The report page's own script and style: it draws the charts (Chart.js, inlined beside it) and
// pages, searches and filters the samples table. The function runs in the browser, not here:
// report.ts inlines its source, so it uses only what a page has, and nothing from outside it.
declare const Chart: new (element: HTMLElement, config: unknown) => unknown;

type ById = (id: string) => HTMLElement & Record<string, any>;
/** A chart's description, as report.ts writes it into the page. */
type ChartSpec = Record<string, any>;
const CHART_OPTIONS = { responsive: true, maintainAspectRatio: false, animation: false };

/** The page's script as the page runs it: each function's source, then the call that starts it. */
export function reportPageSource(): string {
  const parts = [axisOf, histogramChart, barsChart, timelineChart, drawCharts, samplesTable];
  return `${parts.map(String).join("\n")}\nconst CHART_OPTIONS = ${JSON.stringify(CHART_OPTIONS)};\n(${reportPageScript})();`;
}

export function reportPageScript(): void {
  const byId: ById = (id) => document.getElementById(id) as HTMLElement & Record<string, any>;
  drawCharts(byId);
  samplesTable(byId);
}

function axisOf(text: string, extra?: object) {
  return { title: { display: true, text }, ...extra };
}

function drawCharts(byId: ById): void {
  for (const spec of JSON.parse(byId("charts").textContent!)) {
    const element = byId(spec.id);
    if (!element) continue;
    if (spec.kind === "histogram") histogramChart(element, spec);
    else if (spec.kind === "bars") barsChart(element, spec);
    else timelineChart(element, spec);
  }
}

function histogramChart(element: HTMLElement, spec: ChartSpec): void {
  const series = spec.series[0];
  new Chart(element, {
    type: "bar",
    data: {
      labels: spec.labels,
      datasets: [
        {
          label: series.name,
          data: series.values,
          backgroundColor: "#4a7bd0",
          barPercentage: 1,
          categoryPercentage: 0.95,
        },
      ],
    },
    options: {
      ...CHART_OPTIONS,
      plugins: { legend: { display: false } },
      scales: { x: axisOf(spec.x), y: axisOf(spec.y, { beginAtZero: true }) },
    },
  });
}

function barsChart(element: HTMLElement, spec: ChartSpec): void {
  const COLORS: Record<string, string> = {
    drawn: "#4a7bd0",
    expected: "rgba(208,74,74,.45)",
    answers: "#d0804a",
    "valid samples": "#4a7bd0",
    kept: "#4a7bd0",
  };
  /** Series without a colour of their own (a text field each) take these in turn. */
  const PALETTE = ["#4a7bd0", "#d0804a", "#4aa07b", "#9b4ad0", "#d04a7b", "#7b7b7b"];
  new Chart(element, {
    type: "bar",
    data: {
      labels: spec.labels,
      datasets: spec.series.map((s: { name: string; values: number[] }, i: number) => ({
        label: s.name,
        data: s.values,
        backgroundColor: COLORS[s.name] ?? PALETTE[i % PALETTE.length],
      })),
    },
    options: {
      ...CHART_OPTIONS,
      indexAxis: "y",
      plugins: { legend: { display: spec.series.length > 1 } },
      scales: { x: axisOf(spec.x, { beginAtZero: true }), y: axisOf(spec.y) },
    },
  });
}

/** The batches on a time axis, coloured by how each ended. */
function timelineChart(element: HTMLElement, spec: ChartSpec): void {
  const STATUS_COLORS: Record<string, string> = {
    completed: "#4a7bd0",
    expired: "#d0a04a",
    cancelled: "#d0a04a",
    failed: "#d04a4a",
  };
  const batches: { span: number[]; status: string; label: string }[] = spec.series[0].values;
  new Chart(element, {
    type: "bar",
    data: {
      labels: spec.labels,
      datasets: [
        {
          label: "batch",
          data: batches.map((b) => b.span),
          backgroundColor: batches.map((b) => STATUS_COLORS[b.status] ?? "#888"),
          minBarLength: 3,
        },
      ],
    },
    options: {
      ...CHART_OPTIONS,
      indexAxis: "y",
      plugins: {
        legend: { display: false },
        tooltip: {
          callbacks: { label: (item: { dataIndex: number }) => batches[item.dataIndex]!.label },
        },
      },
      scales: {
        x: axisOf(spec.x, {
          type: "time",
          min: spec.range[0],
          max: spec.range[1],
          ticks: { maxTicksLimit: 8 },
          time: { tooltipFormat: "yyyy-MM-dd HH:mm:ss" },
        }),
        y: axisOf(spec.y),
      },
    },
  });
}

/** The samples table: a page at a time, searched and filtered by status. */
function samplesTable(byId: ById): void {
  type Row = Record<string, any>;
  const rows: Row[] = JSON.parse(byId("data").textContent!);
  const PAGE = 100;
  const body = byId("rows");
  const search = byId("search");
  const status = byId("status");
  const count = byId("count");
  let at = 0;
  let shown = rows;
  const cell = (text: unknown, cls?: string) => {
    const td = document.createElement("td");
    td.textContent = String(text);
    if (cls) td.className = cls;
    return td;
  };
  const filter = () => {
    const q = search.value.toLowerCase();
    const s = status.value;
    shown = rows.filter(
      (r) =>
        (!s || (s === "ok") === (r.status === "ok")) &&
        (!q || `${r.text} ${r.labels} ${r.reason} ${r.id}`.toLowerCase().includes(q)),
    );
    at = 0;
    render();
  };
  const render = () => {
    body.replaceChildren(
      ...shown.slice(at, at + PAGE).map((r) => {
        const tr = document.createElement("tr");
        tr.append(
          cell(`${r.sample} (${r.id})`),
          ...(r.stage === undefined ? [] : [cell(r.stage)]),
          cell(r.attempt),
          cell(r.status + (r.reason ? `: ${r.reason}` : "")),
          cell(r.labels),
          cell(r.text, "text"),
          cell(`$${r.cost.toFixed(6)}`),
        );
        return tr;
      }),
    );
    const pages = Math.max(1, Math.ceil(shown.length / PAGE));
    count.textContent = `${shown.length} of ${rows.length} answers, page ${at / PAGE + 1} of ${pages}`;
    byId("previous").disabled = at === 0;
    byId("next").disabled = at + PAGE >= shown.length;
  };
  byId("previous").addEventListener("click", () => {
    at = Math.max(0, at - PAGE);
    render();
  });
  byId("next").addEventListener("click", () => {
    if (at + PAGE < shown.length) {
      at += PAGE;
      render();
    }
  });
  search.addEventListener("input", filter);
  status.addEventListener("change", filter);
  filter();
}

export const REPORT_STYLE = `
body { font: 14px system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222 }
h1 { font-size: 1.4rem }
h2 { font-size: 1.1rem; margin-top: 2rem; border-bottom: 1px solid #ddd }
.headline { display: grid; grid-template-columns: repeat(auto-fit, minmax(140px, 1fr)); gap: .5rem }
.headline div { background: #f4f6fa; padding: .6rem; border-radius: 6px }
.headline b { display: block; font-size: 1.3rem }
div.chart { position: relative; width: 100%; max-width: 900px }
table { border-collapse: collapse; width: 100%; font-size: 12px }
td, th { border-bottom: 1px solid #eee; padding: 4px; vertical-align: top; text-align: left }
td.text { white-space: pre-wrap; max-width: 520px }
input, select, button { padding: 4px; margin: 0 .5rem .5rem 0 }
`;
