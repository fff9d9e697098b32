import {
  CATALOGUE_AS_OF,
  CATALOGUE_SOURCES,
  DEFAULT_MODEL,
  EFFORTS,
  MODELS,
  cheapestEffort,
  type Effort,
} from "../api/models.ts";
import { providerFor } from "../api/providers/index.ts";
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
    m.efforts ? `${effortRange(m.efforts)} (synthai: ${cheapestEffort(m)}, model: ${m.defaultEffort})` : "no",
    m.shutdown ? `${m.shutdown}${m.replacement ? ` → ${m.replacement}` : ""}` : "",
    m.unsure ? "(?) one source" : "",
  ]);
  return (
    `${table([["MODEL", "INPUT", "CACHED", "OUTPUT", "BATCH IN / OUT", "REASONING", "SHUTDOWN", ""], ...rows])}\n\n` +
    `Standard prices in USD per 1M ` +
    `tokens, as of ${CATALOGUE_AS_OF} (${CATALOGUE_SOURCES.join("; ")}); batch at ${share * 100}%. ` +
    "--input-price, --cached-input-price and --output-price override them for a run."
  );
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
  for (const [id, model] of Object.entries(MODELS)) {
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
