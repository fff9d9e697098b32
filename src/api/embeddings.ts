// Embeddings, for --dedup semantic: the models, their list prices (USD per 1M input tokens,
// OpenAI's pricing page, checked 2026-11) and how a batch line asks for a vector and reads one.
import { UserError, cliName, type OptionNamer } from "../errors.ts";
import type { Price } from "./pricing.ts";

export const EMBEDDINGS_URL = "/v1/embeddings";

interface EmbeddingModel {
  /** List price per 1M input tokens; an embedding has no output tokens. */
  input: number;
  dimensions: number;
  /** Whether it takes `dimensions` (shorter vectors, ranked the same): the text-embedding-3 models do. */
  shortens: boolean;
}

export const DEFAULT_EMBEDDING_MODEL = "text-embedding-3-small";

/** The cosine from which two samples' texts say the same thing, unless --dedup-threshold says otherwise. */
export const SEMANTIC_SIMILARITY = 0.9;

const EMBEDDING_MODELS: Record<string, EmbeddingModel> = {
  "text-embedding-3-small": { input: 0.02, dimensions: 1536, shortens: true },
  "text-embedding-3-large": { input: 0.13, dimensions: 3072, shortens: true },
  "text-embedding-ada-002": { input: 0.1, dimensions: 1536, shortens: false },
};

/**
 * Vectors asked of a model that can shorten them: 256 numbers keep near duplicates apart from the
 * rest as well as 1,536 do, in a sixth of the output file and of memory.
 */
const SHORT_DIMENSIONS = 256;

/** A model synthai knows the price and size of; an error names the option as `as` says. */
export function embeddingModel(
  name: string,
  as: OptionNamer = cliName,
): EmbeddingModel & { name: string; asked: number } {
  const model = EMBEDDING_MODELS[name];
  if (!model)
    throw new UserError(
      `"${name}" is not an embeddings model synthai knows`,
      `use one of ${Object.keys(EMBEDDING_MODELS).join(", ")} with ${as("--embedding-model")}`,
    );
  return {
    ...model,
    name,
    asked: model.shortens ? Math.min(SHORT_DIMENSIONS, model.dimensions) : model.dimensions,
  };
}

/** What embeddings cost through a service at `share` of the list price. */
export function embeddingPrice(model: EmbeddingModel, share: number): Price {
  return { input: model.input * share, output: 0 };
}

/** The body of one request: one text, at the length asked. */
export function embeddingBody(model: { name: string; asked: number; shortens: boolean }, text: string) {
  // The service refuses an empty input; a sample with no text is embedded as one space.
  return { model: model.name, input: text || " ", ...(model.shortens ? { dimensions: model.asked } : {}) };
}

/** The vector and the tokens of one answer line's body, or undefined if it holds none. */
export function readEmbedding(body: unknown): { vector: number[]; tokens: number } | undefined {
  const answer = body as { data?: { embedding?: unknown }[]; usage?: { prompt_tokens?: number } };
  const vector = answer?.data?.[0]?.embedding;
  if (!Array.isArray(vector) || !vector.every((x) => typeof x === "number")) return undefined;
  return { vector, tokens: answer.usage?.prompt_tokens ?? 0 };
}
