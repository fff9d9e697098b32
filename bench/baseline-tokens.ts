// The build baselines' token count: a prompt's tokens as the chat format counts them, the count
// synthai makes for the budget (here on the one thread; synthai counts beside the build).
import { countTokens } from "gpt-tokenizer";
import type { Message } from "../src/api/endpoints/index.ts";

export function promptTokens(messages: Message[]): number {
  return messages.reduce((sum, m) => sum + countTokens(m.content) + 4, 3);
}
