// Fine-tuning chat format: one `{"messages": [...]}` line per sample, its turns rendered from
// the row's columns by the mapping the spec or prompt file gives (`chat:`), ready for a
// fine-tuning job. The metrics go beside as JSONL, since a conversation has no columns.
import { UserError } from "../../errors.ts";
import { sizeOf } from "../disk.ts";
import { readFirstLine } from "../jsonl.ts";
import { placeholderNames, renderTemplate } from "../template.ts";
import type { ChatTurn, Existing, Format } from "./index.ts";
import { MESSAGES, shapedAppender, type Shape } from "./shaped.ts";

const CONVERSATION: Shape = {
  columns: [["messages", MESSAGES]],
  /** The mapping was checked by checkChatTurns before anything was written. */
  record({ columns, chat: turns = [] }) {
    return (row) => {
      const view: Record<string, unknown> = {};
      columns.forEach((column, i) => (view[column] = row[i]));
      // A turn left empty is where the conversation ended (an empty system turn is just none):
      // the turns after it are not drawn together, or the roles would not alternate.
      const messages: ChatTurn[] = [];
      for (const turn of turns) {
        const content = renderTemplate(turn.content, view);
        if (content !== "") messages.push({ role: turn.role, content });
        else if (turn.role !== "system") break;
      }
      // A conversation ends on the assistant: a trainer learns only the assistant's turns, and
      // a last turn of the other side is one nothing answers.
      while (messages.length && messages.at(-1)!.role !== "assistant") messages.pop();
      return messages.length ? { messages } : undefined;
    };
  },
};

export const chat: Format = {
  extensions: [],
  writes: "jsonl",
  metricsFormat: "jsonl",

  async readExisting(path): Promise<Existing | undefined> {
    const size = sizeOf(path) ?? 0;
    if (size === 0) return undefined;
    let first: unknown;
    try {
      first = JSON.parse(await readFirstLine(path));
    } catch {
      first = undefined;
    }
    if (!first || typeof first !== "object" || !Array.isArray((first as { messages?: unknown }).messages))
      throw new UserError(
        `${path} is not a chat file (its first line has no "messages")`,
        "choose another output",
      );
    // A conversation carries no index: this run's rows count on from nothing.
    return { size, delimiter: ",", lastIndex: -1 };
  },

  needs: "chat",
  shape: CONVERSATION,
  appender: shapedAppender(CONVERSATION),
};

/** Checks a chat mapping from a spec or prompt file; the turns, or a one-line error naming `source`. */
export function checkChatTurns(value: unknown, source: string, columns: string[]): ChatTurn[] {
  const [question = "Question", answer = "Answer"] = columns.slice(1);
  const hint =
    `write it as a list of turns, e.g. chat: [{ role: "user", content: "{{${question}}}" }, ` +
    `{ role: "assistant", content: "{{${answer}}}" }]`;
  if (value === undefined)
    throw new UserError(
      `--format chat needs the conversation each sample becomes, and ${source} gives none`,
      `give the spec or the prompt file's front matter a chat mapping: ${hint.replace(/^write it as /, "")}`,
    );
  if (!Array.isArray(value) || value.length === 0)
    throw new UserError(`${source}: "chat" must be a non-empty list of turns`, hint);
  for (const turn of value as Partial<ChatTurn>[]) {
    if (
      !turn ||
      !["system", "user", "assistant"].includes(turn.role as string) ||
      typeof turn.content !== "string"
    )
      throw new UserError(
        `${source}: each "chat" turn needs a role (system, user or assistant) and a content`,
        hint,
      );
    let names: string[];
    try {
      names = placeholderNames(turn.content);
    } catch (error) {
      throw new UserError(`${source}: chat: ${(error as Error).message}`, "close every {{ with }}");
    }
    for (const name of names)
      if (!columns.includes(name))
        throw new UserError(
          `${source}: chat names {{${name}}}, which is no column`,
          `it can use ${columns.join(", ")}`,
        );
  }
  return value as ChatTurn[];
}
