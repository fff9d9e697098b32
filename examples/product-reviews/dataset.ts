import { defineDataset } from "synthai";

// Product reviews with sentiment and rating labels, as structured output: the model answers
// JSON that must fit the schema, so no answer is lost to a missing section.
export default defineDataset({
  fields: ["Review", "Sentiment", "Rating"],
  schema: {
    type: "object",
    properties: {
      Review: { type: "string", description: "the review text" },
      Sentiment: { type: "string", enum: ["positive", "neutral", "negative"] },
      Rating: { type: "integer", minimum: 1, maximum: 5 },
    },
    required: ["Review", "Sentiment", "Rating"],
    additionalProperties: false,
  },
  generate: (faker) => ({
    Name: faker.person.firstName(),
    Date: faker.date.recent({ days: 365, refDate: "2026-01-01" }).toISOString().slice(0, 10),
  }),
  prompt: ({ params, values }) => {
    const r = params.Review ?? {};
    // What every request says comes first, what varies last: the service caches a prompt's shared start.
    return (
      "Write a product review, then label it: its sentiment (positive, neutral or negative) and the star " +
      "rating from 1 to 5 that the reviewer gave. The review's length, tone, product, reviewer and date follow.\n" +
      `Length: ${r.Length}\nTone: ${r.Tone}\nProduct: ${r.Product}\n` +
      `Written by ${values.Name}, ${r.Reviewer}, on ${values.Date}.`
    );
  },
});
