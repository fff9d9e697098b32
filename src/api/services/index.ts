// The batch services synthai speaks, one entry per vendor: a new vendor is one file here and one
// line in SERVICES. Each entry reads its own key and address (vendors.ts names the variables).
import type { BatchService, ServiceOptions, Vendor } from "../batch-service.ts";
import { mainVendor, type ProviderName } from "../providers/index.ts";
import { anthropicService } from "./anthropic.ts";
import { geminiService } from "./gemini.ts";
import { openaiService } from "./openai.ts";

export type ServiceFactory = (options: ServiceOptions) => BatchService;

export const SERVICES: Record<Vendor, ServiceFactory> = {
  openai: openaiService,
  anthropic: anthropicService,
  gemini: geminiService,
};

export function makeService(vendor: Vendor, options: ServiceOptions): BatchService {
  return SERVICES[vendor](options);
}

/** What the flags say of the connection: they belong to the run's main vendor only. */
export interface Connection {
  apiKey: string | undefined;
  baseURL: string | undefined;
  /** A look that may give up (`status`). */
  quick?: boolean;
}

/** Where a run's main vendor is: its preset and the address it was made with. */
export interface RunVendor {
  vendor?: Vendor | undefined;
  provider?: string | undefined;
  baseURL?: string | undefined;
}

/**
 * The options each vendor's service of a run is made with: -k/--base-url (or the run's address)
 * and the preset go to the vendor of --provider (OpenAI unless it names another); any other reads its own variables only, so a key is
 * never sent to another vendor's service.
 */
export function serviceOptions(
  vendor: Vendor,
  connection: Connection,
  run: RunVendor,
  log?: (line: string) => void,
): ServiceOptions {
  const shared = { ...(connection.quick ? { quick: true } : {}), ...(log ? { log } : {}) };
  if (vendor !== mainVendor(run.provider as ProviderName | undefined)) return shared;
  return {
    ...shared,
    apiKey: connection.apiKey,
    baseURL: connection.baseURL ?? run.baseURL,
    provider: run.provider,
  };
}

/** A run's services, each made when first asked for and kept. */
export function runServices(
  connection: Connection,
  run: RunVendor,
  log?: (line: string) => void,
): (vendor: Vendor) => BatchService {
  const made = new Map<Vendor, BatchService>();
  return (vendor) => {
    let service = made.get(vendor);
    if (!service)
      made.set(vendor, (service = makeService(vendor, serviceOptions(vendor, connection, run, log))));
    return service;
  };
}
