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
        // The format first, the same for every request: the service caches a prompt's shared start.
        content:
          "Write one question and its answer; the kind of question, its topic, who asks it and how to answer follow.\n" +
          "Format: write [Question] before the question and [Answer] before the answer.\n" +
          `Kind: ${q.Kind}\nTopic: ${q.Topic}\nAsked by: ${q.Level}\nHow to answer: ${params.Answer?.Style}`,
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
