// Message Batches keep no metadata, so a batch proves whose it is by its requests' custom ids:
// each is synthai's id behind a prefix that hashes the run, stage, chunk and attempt. The ids
// must be 1 to 64 of [a-zA-Z0-9_-]; the prefix is 16 hex digits, then "-" and synthai's id as
// it is, or "_" and its base64url where it has other characters. Pure.
import { createHash } from "node:crypto";
import { UserError } from "../../errors.ts";
import type { BatchAsk } from "../batch-service.ts";
import { CUSTOM_ID } from "../endpoints/messages.ts";

const PREFIX = 16;
const PLAIN = /^[a-zA-Z0-9_-]+$/;

/** The prefix of every custom id of this ask's batch: the same for the same run, stage, chunk and attempt. */
export function askPrefix(ask: Pick<BatchAsk, "metadata" | "name">): string {
  const tags = Object.entries(ask.metadata).sort(([a], [b]) => a.localeCompare(b));
  return createHash("sha256")
    .update(JSON.stringify([tags, ask.name]))
    .digest("hex")
    .slice(0, PREFIX);
}

/** synthai's custom id as this ask's batch sends it. */
export function toClaudeId(prefix: string, id: string): string {
  const claudeId = PLAIN.test(id)
    ? `${prefix}-${id}`
    : `${prefix}_${Buffer.from(id, "utf8").toString("base64url")}`;
  if (!CUSTOM_ID.test(claudeId))
    throw new UserError(
      `custom id ${JSON.stringify(id)} is too long for Anthropic's Message Batches (64 characters with synthai's 17)`,
      "give samples ids of at most 47 letters, digits, _ or -",
    );
  return claudeId;
}

/** synthai's custom id back from the batch's, and the prefix it carried. */
export function fromClaudeId(claudeId: string): { prefix: string; id: string } | undefined {
  const prefix = claudeId.slice(0, PREFIX);
  const rest = claudeId.slice(PREFIX + 1);
  if (!/^[0-9a-f]{16}$/.test(prefix) || !rest) return undefined;
  const mark = claudeId[PREFIX];
  if (mark === "-") return { prefix, id: rest };
  if (mark === "_") return { prefix, id: Buffer.from(rest, "base64url").toString("utf8") };
  return undefined;
}
