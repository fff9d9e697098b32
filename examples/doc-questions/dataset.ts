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
      content:
        `Document "${row!.title}":\n${row!.text}\n\n` +
        `Write one ${params.Question!.Difficulty} question about it, then its answer.\n` +
        "Write [Question] before the question and [Answer] before the answer.",
    },
  ],
});
