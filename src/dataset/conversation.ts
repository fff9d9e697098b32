// A conversation stage: K turns between two sides, each turn one more stage (one batch round:
// batch services answer one request at a time, with no memory, so turn t is asked with the whole
// history of turns 1..t-1). Declared in a prompt file's front matter, as data:
//
//   conversation:
//     turns: 4
//     opens: customer                  # the side that speaks first
//     assistant: agent                 # the side that is the assistant in --format chat (default: the other)
//     sides:
//       customer: You are {{Persona}}, calling about {{Problem}}. Speak only as the customer.
//       agent: You are a patient support agent. Speak only as the agent.
//
// Each turn's answer, whole, is the field Turn1, Turn2, …; each turn is asked wherever the one
// before it was, whatever that one said; `when` applies to every turn (a turn whose `when` fails
// is not asked, nor are those after it), `keep` after the last.
import { UserError } from "../errors.ts";
import { placeholderNames, renderTemplate } from "../io/template.ts";
import type { Message } from "../api/endpoints/index.ts";
import { readPromptFile, stageOptionsOf, viewOf } from "./prompt-file.ts";
import type { ChatTurn, Draw, PlannedStage, StageOptions } from "./spec.ts";

interface Conversation {
  turns: number;
  sides: [string, string];
  instructions: Record<string, string>;
  opens: string;
  assistant: string;
}

const MAX_TURNS = 40;

/** A stage file: one stage, or one per turn of a conversation. */
export function loadStageFile(path: string): PlannedStage[] {
  const { data, body } = readPromptFile(path);
  if (data.conversation === undefined) return [];
  const { conversation, ...rest } = data;
  const options = stageOptionsOf(path, rest);
  const talk = readConversation(path, conversation);
  if (body)
    throw new UserError(
      `prompt file ${path}: a conversation has no body`,
      "give each side's instructions under conversation: sides:",
    );
  return Array.from({ length: talk.turns }, (_, i) => turnStage(path, talk, i + 1, options));
}

function readConversation(path: string, value: unknown): Conversation {
  const fail = (what: string): never => {
    throw new UserError(
      `prompt file ${path}: conversation ${what}`,
      "give turns (a number), sides (two names with their instructions) and opens (the side that speaks first)",
    );
  };
  if (!value || typeof value !== "object") return fail("must be a mapping");
  const { turns, sides, opens, assistant, ...other } = value as Record<string, unknown>;
  const unknown = Object.keys(other)[0];
  if (unknown) fail(`has "${unknown}", which synthai does not know`);
  if (!Number.isInteger(turns) || (turns as number) < 1 || (turns as number) > MAX_TURNS)
    fail(`turns must be a whole number from 1 to ${MAX_TURNS}`);
  if (!sides || typeof sides !== "object") return fail("sides must name two sides with their instructions");
  const names = Object.keys(sides);
  const instructions = sides as Record<string, unknown>;
  if (
    names.length !== 2 ||
    names.some((n) => typeof instructions[n] !== "string" || !String(instructions[n]).trim())
  )
    fail("sides must name exactly two sides, each with its instructions as text");
  for (const name of names)
    try {
      placeholderNames(instructions[name] as string);
    } catch (error) {
      fail(`sides.${name}: ${(error as Error).message}`);
    }
  const opener = opens ?? names[0];
  if (!names.includes(opener as string)) fail(`opens must be one of ${names.join(", ")}`);
  const other_ = names.find((n) => n !== opener)!;
  const helper = assistant ?? other_;
  if (!names.includes(helper as string)) fail(`assistant must be one of ${names.join(", ")}`);
  return {
    turns: turns as number,
    sides: [opener as string, other_],
    instructions: instructions as Record<string, string>,
    opens: opener as string,
    assistant: helper as string,
  };
}

const turnField = (turn: number) => `Turn${turn}`;

function turnStage(path: string, talk: Conversation, turn: number, options: StageOptions): PlannedStage {
  const speaker = talk.sides[(turn - 1) % 2]!;
  const field = turnField(turn);
  return {
    ...(turn === talk.turns && options.keep ? { keep: options.keep } : {}),
    ...(options.model ? { model: options.model } : {}),
    ...(options.maxTokens ? { maxTokens: options.maxTokens } : {}),
    ...(options.reasoningEffort ? { reasoningEffort: options.reasoningEffort } : {}),
    ...(options.when ? { when: options.when } : {}),
    fields: [field],
    // The whole answer is the turn; an empty one is asked again.
    parse: (answer) =>
      answer.trim()
        ? { ok: true, fields: { [field]: answer.trim() } }
        : { ok: false, reason: "an empty turn" },
    prompt: (draw: Draw) => {
      const view = viewOf(draw);
      const history: Message[] = [];
      for (let t = 1; t < turn; t++)
        history.push({
          role: talk.sides[(t - 1) % 2] === speaker ? "assistant" : "user",
          content: String(draw.fields?.[turnField(t)] ?? ""),
        });
      return [
        { role: "system", content: renderTemplate(talk.instructions[speaker]!, view) },
        ...(history.length ? history : [{ role: "user" as const, content: "Begin the conversation." }]),
      ];
    },
    chat: chatOf(talk),
    source: `prompt file ${path} (turn ${turn})`,
    templates: [talk.instructions[speaker]!],
    turn: { number: turn, of: talk.turns },
    ...(turn > 1 ? { follows: turnField(turn - 1) } : {}),
  };
}

/**
 * The field of the turn before a conversation's turn: the turn is asked wherever that one was, whatever it
 * said ("No" and "0" are turns like any other); a turn not asked (its `when` failed) ends the conversation.
 */
export function previousTurnOf(stage: PlannedStage): string | undefined {
  return stage.follows;
}

/** The conversation as fine-tuning messages: the assistant side's instructions, then every turn asked. */
function chatOf(talk: Conversation): ChatTurn[] {
  return [
    { role: "system", content: talk.instructions[talk.assistant]! },
    ...Array.from({ length: talk.turns }, (_, i): ChatTurn => ({
      role: talk.sides[i % 2] === talk.assistant ? "assistant" : "user",
      content: `{{${turnField(i + 1)}}}`,
    })),
  ];
}
