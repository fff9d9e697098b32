import { defineDataset } from "synthai";

/** A question and its answer for each document of docs.jsonl, at a drawn difficulty. */
export default defineDataset({
  fields: ["Question", "Answer"],
  prompt: ({ row, params }) => [
    {
      role: "system",
      content: "You write reading-comprehension questions that the given text alone answers.",
    },
    {
      role: "user",
      // The instructions first, the same for every document: the service caches a prompt's shared start.
      content:
        "Write one question about the document below, at the difficulty given, then its answer.\n" +
        "Write [Question] before the question and [Answer] before the answer.\n\n" +
        `Difficulty: ${params.Question!.Difficulty}\nDocument "${row!.title}":\n${row!.text}`,
    },
  ],
});
