import { PROVIDERS, type Provider } from "../api/providers/index.ts";
import { table } from "./table.ts";

/** `synthai providers`: each preset, with what it does differently and how it was tried. */
const HEADER = [
  "PROVIDER",
  "BASE URL",
  "KEY",
  "PURPOSE",
  "WINDOW",
  "BATCH",
  "PER FILE",
  "KEEPS",
  "FOUND AGAIN BY",
  "TRIED",
];

/** How a batch a crash left unrecorded is found again, as the table says it. */
const RECONCILED_BY: Record<Provider["reconcileBy"], string> = {
  metadata: "metadata",
  input_file_id: "input file",
  size_and_ids: "size and ids",
  display_name: "display name",
};

export function formatProviders(): string {
  const mb = (bytes: number) => `${bytes / 1_000_000} MB`;
  const rows = Object.entries(PROVIDERS).map(([name, p]) => {
    const [shortest, longest] = p.windowHours;
    return [
      name === "openai" ? `${name} (default)` : name,
      p.baseURL ?? p.baseURLHint ?? "",
      p.keyVariable,
      p.uploadPurpose,
      shortest === longest ? `${shortest}h` : `${shortest}h–${longest / 24}d`,
      `${Math.round(p.batchShare * 100)}%`,
      `${p.maxRequestsPerFile.toLocaleString("en")} / ${mb(p.maxBytesPerFile)}`,
      [p.keepsMetadata ? "metadata" : "", p.takesExpiry ? "expiry" : ""].filter(Boolean).join(", ") || "-",
      RECONCILED_BY[p.reconcileBy],
      p.unsupported ? "refused (see note)" : p.tested === "profile" ? "fake profile" : "docs only",
    ];
  });
  const notes = Object.entries(PROVIDERS).map(
    ([name, p]) => `  ${name}: ${p.note}${p.source ? ` — follows ${p.source}` : ""}`,
  );
  return (
    `${table([HEADER, ...rows])}\n\n` +
    `BATCH is the share of the list price a batch pays. KEEPS: the optional ` +
    `fields it takes; one a service refuses is sent no more for that run. ` +
    `FOUND AGAIN BY: how a batch created just before a crash is found ` +
    `(synthai also matches the request file it was made from). ` +
    `TRIED: "fake profile" services are in the crash and fault tests against a fake ` +
    `with their quirks; "docs only" follow their documentation.\n\n${notes.join("\n")}`
  );
}
