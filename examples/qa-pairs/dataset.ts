import { defineDataset, parseMarkers } from "synthai";

// Question–answer pairs over a list of topics, for fine-tuning or evaluation sets.
export default defineDataset({
  fields: ["Question", "Answer"],
  prompt: ({ params }) => {
    const q = params.Question ?? {};
    return [
      { role: "system", content: "You write clear, correct educational question and answer pairs." },
      {
        role: "user",
        content:
          `Write one ${q.Kind} question about ${q.Topic} that ${q.Level} might ask, then answer it ${params.Answer?.Style}.\n` +
          `Format: write [Question] before the question and [Answer] before the answer.`,
      },
    ];
  },
  // A question must be a question: a marker answer without a "?" in it is asked again.
  parse: (answer, fields) => {
    const parsed = parseMarkers(answer, fields);
    if (parsed.ok && !parsed.fields.Question!.includes("?"))
      return { ok: false, reason: "the question has no question mark" };
    return parsed;
  },
  // `--format chat`: each pair becomes a fine-tuning conversation.
  chat: [
    { role: "system", content: "You answer questions clearly and correctly." },
    { role: "user", content: "{{Question}}" },
    { role: "assistant", content: "{{Answer}}" },
  ],
});
