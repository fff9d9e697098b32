import { existsSync } from "node:fs";
import { join } from "node:path";
import { readJsonl, readLines } from "../io/jsonl.ts";
import { promptText } from "../pipeline/build.ts";
import type { BatchRequest } from "../run/records.ts";
import type { Endpoint } from "../api/endpoints/index.ts";
import { endpointOf } from "../run/config.ts";
import { collectedRecords, stageOf, type BatchRecord, type Manifest } from "../run/manifest.ts";
import { serviceOf } from "../run/config.ts";
import { formatUsd } from "../api/pricing.ts";
import { checkRunFiles, resultsFile, samplesFile } from "../run/files.ts";
import { completionText, parseResultLine } from "../pipeline/verdict.ts";
import type { SampleResult } from "../run/records.ts";

export interface InspectFilter {
  failed?: boolean;
  /** 1-based sample number, as in the metrics CSV. */
  sample?: number;
  id?: string;
  limit?: number;
}

export interface InspectedSample extends SampleResult {
  prompt: string;
  givenUp: boolean;
  /** With stages: the stage (a judge, a conversation's turn) that asked it; stage 1 otherwise. */
  stage?: number;
  /** Whose service answered it (OpenAI, Anthropic, Groq, …). */
  service: string;
}

/**
 * Streams a run's judged answers, oldest attempt first, with their prompts; works while the
 * run is in progress. Only the chunks a filter can match are read.
 */
export async function* inspectRun(
  runDir: string,
  manifest: Manifest,
  filter: InspectFilter,
): AsyncGenerator<InspectedSample> {
  const wantedChunk = chunkOf(manifest, filter);
  let shown = 0;
  const records = collectedRecords(manifest).filter(
    (b) => wantedChunk === undefined || b.chunk === wantedChunk,
  );
  // A samples file damaged since it was written is one line, with the way out, not a stack trace.
  await checkRunFiles(runDir, manifest, records.map(samplesFile));
  for (const record of records) {
    let prompts: Map<string, string> | undefined;
    let answers: Map<string, string> | undefined;
    const endpoint = endpointOf(manifest.config, stageOf(record));
    for await (const result of readJsonl<SampleResult>(join(runDir, samplesFile(record)))) {
      if (filter.failed && result.status === "ok") continue;
      if (filter.sample !== undefined && result.sample !== filter.sample) continue;
      if (filter.id !== undefined && result.custom_id !== filter.id) continue;
      prompts ??= await promptsOf(runDir, record, endpoint);
      if (result.answer === undefined && result.status === "ok") {
        answers ??= await answersOf(runDir, record, endpoint);
        result.answer = answers.get(result.custom_id);
      }
      yield {
        ...result,
        ...(record.stage ? { stage: record.stage } : {}),
        service: serviceOf(manifest.config, stageOf(record)),
        prompt: prompts.get(result.custom_id) ?? "",
        givenUp: result.status !== "ok" && !result.retry,
      };
      if (filter.limit && ++shown >= filter.limit) return;
    }
  }
}

function chunkOf(manifest: Manifest, filter: InspectFilter): number | undefined {
  const index =
    filter.sample !== undefined ? filter.sample - 1 : filter.id !== undefined ? Number(filter.id) : undefined;
  if (index === undefined || !Number.isInteger(index)) return undefined;
  return (
    manifest.chunks.find((c) => index >= c.firstSample && index < c.firstSample + c.samples)?.index ?? -1
  );
}

/** A batch's prompts by custom_id, read back from each request's body as its endpoint wrote it. */
async function promptsOf(
  runDir: string,
  record: BatchRecord,
  endpoint: Endpoint,
): Promise<Map<string, string>> {
  const prompts = new Map<string, string>();
  for await (const request of readJsonl<BatchRequest>(join(runDir, record.requestsFile)))
    prompts.set(request.custom_id, promptText(endpoint.prompt(request.body).messages));
  return prompts;
}

/** A batch's answers as they came, by custom_id (the first line for an id counts, as in collect). */
async function answersOf(
  runDir: string,
  record: BatchRecord,
  endpoint: Endpoint,
): Promise<Map<string, string>> {
  const answers = new Map<string, string>();
  // The service's answers, and those the cache of answers gave.
  for (const kind of ["output", "cached"] as const) {
    const path = join(runDir, resultsFile(record, kind));
    if (!existsSync(path)) continue;
    for await (const line of readLines(path)) {
      // A corrupt line has no answer to show (collect reported it).
      const result = parseResultLine(line);
      const answer = completionText(result, endpoint);
      if (
        typeof result?.custom_id === "string" &&
        typeof answer === "string" &&
        !answers.has(result.custom_id)
      )
        answers.set(result.custom_id, answer);
    }
  }
  return answers;
}

export function formatSample(s: InspectedSample): string {
  const verdict =
    s.status === "ok" ? "ok" : `${s.status}${s.givenUp ? ", given up" : ", asked again"}: ${s.reason ?? ""}`;
  const lines = [
    `── sample ${s.sample}${s.input_row ? ` (input row ${s.input_row})` : ""} · ` +
      `id ${s.custom_id}${s.stage ? ` · stage ${s.stage}` : ""} · ` +
      `chunk ${s.chunk} · attempt ${s.attempt} · ${s.batch_id || "no batch"}`,
    `   ${verdict}`,
    `   tokens ${s.prompt_tokens} + ${s.completion_tokens} = ${s.total_tokens} · ` +
      `${formatUsd(s.cost_usd)} · ${s.model} on ${s.service}`,
    `   params: ${Object.entries(s.labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(", ")}`,
    `   prompt: ${indent(s.prompt)}`,
  ];
  if (s.answer !== undefined) lines.push(`   answer: ${indent(s.answer)}`);
  for (const [field, value] of Object.entries(s.fields ?? {})) lines.push(`   ${field}: ${indent(value)}`);
  return lines.join("\n");
}

function indent(text: string): string {
  return text.replace(/\n/g, "\n           ");
}
