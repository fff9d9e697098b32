// A stage of several models (`models: [a, b]`): one stage per model, each answering every sample
// with the same prompt, in its own batch file (the Batch API refuses a file that mixes models) at
// its own price; they run side by side, and what comes after waits for them all. Each model's
// fields are named after it, so a later stage (a judge) can compare them.
import { parseAnswer, type Dataset, type Stage } from "./spec.ts";

/** `Answer` of `gpt-6.1-terra` → `Answer_gpt-6-1-terra`: a placeholder name may hold no dot. */
export function fieldOfModel(field: string, model: string): string {
  return `${field}_${model.replace(/\./g, "-")}`;
}

/**
 * Two entries of a `models:` list that would be the same model twice, if any: the same name, or
 * two names whose fields would be named alike. Each would be paid for every sample, and compared
 * with itself.
 */
export function sameModelTwice(models: string[]): [string, string] | undefined {
  const seen = new Map<string, string>();
  for (const model of models) {
    const earlier = seen.get(fieldOfModel("", model));
    if (earlier !== undefined) return [earlier, model];
    seen.set(fieldOfModel("", model), model);
  }
  return undefined;
}

export function expandModels(stage: Stage): Stage[] {
  const { models, ...shared } = stage;
  if (!models?.length) return [stage];
  const source = (stage as { source?: string }).source;
  const templates = (stage as { templates?: string[] }).templates;
  return models.map((model, i) => {
    const rename = (fields: Record<string, string>) =>
      Object.fromEntries(Object.entries(fields).map(([k, v]) => [fieldOfModel(k, model), v]));
    const own: Stage = {
      ...shared,
      model,
      fields: stage.fields.map((f) => fieldOfModel(f, model)),
      // Asked with the stage's own fields and schema; its answer's fields renamed after the model.
      parse: (answer) => {
        const result = parseAnswer(stage as Dataset, answer);
        return result.ok ? { ok: true, fields: rename(result.fields) } : result;
      },
    };
    if (i < models.length - 1) delete own.keep; // keep applies once all have answered
    Object.defineProperty(own, "source", { value: `${source ?? "a stage"} (${model})`, enumerable: false });
    if (templates) Object.defineProperty(own, "templates", { value: templates, enumerable: false });
    Object.defineProperty(own, "sibling", { value: i, enumerable: false });
    Object.defineProperty(own, "group", { value: { models, fields: stage.fields }, enumerable: false });
    return own;
  });
}

/** The models of a stage expanded from `models:`, and its fields as asked (before renaming). */
export function groupOf(stage: Stage): { models: string[]; fields: string[] } | undefined {
  return (stage as { group?: { models: string[]; fields: string[] } }).group;
}
