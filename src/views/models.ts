import {
  CATALOGUE_AS_OF,
  CATALOGUE_SOURCES,
  DEFAULT_MODEL,
  EFFORTS,
  MODELS,
  cheapestEffort,
  type Effort,
  type Model,
} from "../api/models.ts";
import { providerFor } from "../api/providers/index.ts";
import { VENDORS } from "../api/vendors.ts";
import { table } from "./table.ts";

/** `synthai models`: the catalogue, with standard and batch prices per 1M tokens. */
export function formatModels(): string {
  const share = providerFor().batchShare;
  const usd = (n: number | undefined) => (n === undefined ? "-" : `$${+n.toFixed(4)}`);
  const rows = Object.entries(MODELS).map(([id, m]) => [
    id === DEFAULT_MODEL ? `${id} (default)` : id,
    usd(m.input),
    usd(m.cachedInput),
    usd(m.output),
    `${usd(m.input * share)} / ${usd(m.output * share)}`,
    m.efforts
      ? `${m.thinking ? "thinking " : ""}${effortRange(m.efforts)} (synthai: ${cheapestEffort(m)}, model: ${m.defaultEffort})`
      : "no",
    m.shutdown ? `${m.shutdown}${m.replacement ? ` → ${m.replacement}` : ""}` : "",
    VENDORS[m.vendor ?? "openai"].title,
    [cacheWrites(m), m.unsure ? "(?) one source" : ""].filter(Boolean).join("; "),
  ]);
  return (
    `${table([["MODEL", "INPUT", "CACHED", "OUTPUT", "BATCH IN / OUT", "REASONING", "SHUTDOWN", "VENDOR", ""], ...rows])}\n\n` +
    `Standard prices in USD per 1M ` +
    `tokens, as of ${CATALOGUE_AS_OF} (${CATALOGUE_SOURCES.join("; ")}); batch at ${share * 100}%. ` +
    "--input-price, --cached-input-price and --output-price override them for a run."
  );
}

/** What writing to the cache costs, where the vendor bills it apart (Anthropic). */
function cacheWrites(m: Model): string {
  if (m.cacheWrite5m === undefined && m.cacheWrite1h === undefined) return "";
  return `cache write $${m.cacheWrite5m ?? "-"} (5m) / $${m.cacheWrite1h ?? "-"} (1h)`;
}

function effortRange(efforts: readonly Effort[]): string {
  const [first, last] = [EFFORTS.indexOf(efforts[0]!), EFFORTS.indexOf(efforts.at(-1)!)];
  return last - first + 1 === efforts.length ? `${efforts[0]}–${efforts.at(-1)}` : efforts.join(", ");
}

export interface ServiceModel {
  id: string;
  shutdown_date?: string | null;
}

/** `synthai models --check`: where the catalogue and the service disagree (empty: they agree). */
export function compareWithService(service: ServiceModel[]): string[] {
  const byId = new Map(service.map((m) => [m.id, m]));
  const differences: string[] = [];
  // The service asked is OpenAI's: another vendor's models are not on its list.
  for (const [id, model] of Object.entries(MODELS).filter(([, m]) => (m.vendor ?? "openai") === "openai")) {
    const listed = byId.get(id);
    if (!listed) {
      differences.push(`${id}: in the catalogue, not offered by the service to this key`);
      continue;
    }
    const theirs = listed.shutdown_date ?? undefined;
    if (listed.shutdown_date !== undefined && theirs !== model.shutdown)
      differences.push(
        `${id}: the service says it ` +
          `shuts down ${theirs ?? "never (no date)"}, the catalogue ${model.shutdown ?? "never"}`,
      );
  }
  return differences;
}
