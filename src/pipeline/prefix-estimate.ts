// The dry run's and preview's lines on the service's prefix cache, per stage: the prompt tokens
// every request shares from its start, what they save at the cached price, and a warning where a
// placeholder near the start keeps a long static part out of the cache (prefix.ts computes them),
// each by its stage's vendor's rule (api/vendors.ts prefixCache).
import { prefixCacheOf, type Price } from "../api/pricing.ts";
import type { Vendor } from "../api/batch-service.ts";
import { VENDORS } from "../api/vendors.ts";
import { withTokenCounter } from "../api/tokens.ts";
import { labelsOf, promptOf } from "../dataset/draw.ts";
import type { Dataset, Draw, Message } from "../dataset/spec.ts";
import { toMessages } from "./build.ts";
import {
  markedDraw,
  prefixHint,
  prefixLine,
  prefixWarning,
  stagePrefix,
  type SharedPrefix,
} from "./prefix.ts";
import { datasetOfStage } from "./stages.ts";

/** How one stage runs, as far as its prefix is concerned. */
export interface StagePricing {
  model: string;
  price: Price | undefined;
  /** Whose service runs it; OpenAI when absent (as the run's config has it). */
  vendor?: Vendor | undefined;
}

/**
 * A line per stage (and a warning where one is due). Stage 1's shared prefix is `built`'s, folded
 * over every request the build wrote, where there is one; a later stage's (and a preview's) is the
 * text before its first placeholder, since its requests are built from answers not yet made.
 */
export async function prefixLines(
  dataset: Dataset,
  stages: StagePricing[],
  first: Draw,
  requests: number,
  built?: SharedPrefix,
): Promise<string[]> {
  return withTokenCounter(async (counter) => {
    const count = (messages: Message[]) => counter.count({ messages });
    const lines: string[] = [];
    const fields: Record<string, string> = {};
    for (const [i, { model, price, vendor = "openai" }] of stages.entries()) {
      const stage = i + 1;
      const own = datasetOfStage(dataset, stage);
      const draw = stage === 1 ? first : { params: {}, values: labelsOf(first), fields: { ...fields } };
      const shared = stage === 1 && built?.messages ? built.messages : undefined;
      const figures = await stagePrefix(
        {
          ...{ stage, model, price, vendor: VENDORS[vendor].title, cache: prefixCacheOf(vendor, model) },
          requests: stage === 1 && built ? built.requests : requests,
        },
        markedPrompt(own, draw),
        count,
        shared,
      );
      lines.push(prefixLine(figures));
      const warning = prefixWarning(figures);
      if (warning) lines.push(warning);
      const hint = prefixHint(figures);
      if (hint) lines.push(hint);
      for (const field of own.fields) fields[field] = "";
    }
    return lines;
  });
}

/** The stage's prompt with every value a mark; none where the spec cannot render marks (it computes on a value). */
function markedPrompt(dataset: Dataset, draw: Draw): Message[] | undefined {
  try {
    return toMessages(promptOf(dataset, markedDraw(draw), 0));
  } catch {
    return undefined;
  }
}
