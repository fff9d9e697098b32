// A stage of several models (`models: [a, b]`): one stage per model, each answering every sample
// with the same prompt, in its own batch file (the Batch API refuses a file that mixes models) at
// its own price; they run side by side, and what comes after waits for them all. Each model's
// fields are named after it, so a later stage (a judge) can compare them.
import { bareModel } from "../api/models.ts";
import { columnTypeOf, typedValue } from "../io/formats/types.ts";
import { parseAnswer, type ModelGroup, type PlannedStage } from "./spec.ts";

/** `Answer` of `gpt-6.1-terra` → `Answer_gpt-6-1-terra`: a placeholder name may hold no dot (nor a vendor's `anthropic/`). */
export function fieldOfModel(field: string, model: string): string {
  return `${field}_${bareModel(model).replace(/\./g, "-")}`;
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

/** A stage of `models: [a, b]` as one planned stage per model; any other stage as it is. */
export function expandModels(stage: PlannedStage): PlannedStage[] {
  const { models, ...shared } = stage;
  if (!models?.length) return [stage];
  const group: ModelGroup = { models, fields: stage.fields, ownParser: Boolean(stage.parse) };
  return models.map((model, i) => {
    const rename = (fields: Record<string, string>) =>
      Object.fromEntries(Object.entries(fields).map(([k, v]) => [fieldOfModel(k, model), v]));
    const own: PlannedStage = {
      ...shared,
      model,
      fields: stage.fields.map((f) => fieldOfModel(f, model)),
      // Asked with the stage's own fields and schema; its answer's fields renamed after the model.
      parse: (answer) => {
        const result = parseAnswer(stage, answer);
        return result.ok ? { ok: true, fields: rename(result.fields) } : result;
      },
      source: `${stage.source ?? "a stage"} (${model})`,
      among: { index: i, group },
    };
    if (i < models.length - 1) delete own.keep; // keep applies once all have answered
    return own;
  });
}

/** The models of a stage expanded from `models:`, if it was. */
export function groupOf(stage: PlannedStage): ModelGroup | undefined {
  return stage.among?.group;
}

/**
 * A model's answer as the stage's prompt asked for it, from its parsed fields: `[Field] value`
 * lines, or the schema's JSON; a spec's own parser cannot be run backwards, so there its first
 * field's text.
 */
export function answerAsAsked(stage: PlannedStage, model: string, fields: Record<string, string>): string {
  const group = groupOf(stage)!;
  const own = (field: string) => fields[fieldOfModel(field, model)] ?? "";
  if (group.ownParser) return own(group.fields[0]!);
  if (stage.schema) {
    const properties = (stage.schema.properties ?? {}) as Record<string, unknown>;
    const values = group.fields.map((f) => [f, typedValue(own(f), columnTypeOf(properties[f]))]);
    return JSON.stringify(Object.fromEntries(values));
  }
  return group.fields.map((field) => `[${field}] ${own(field)}`).join("\n");
}
