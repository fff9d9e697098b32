import { defineDataset } from "../spec.ts";

const withArticle = (word = "") => `${/^[aeiou]/i.test(word) ? "an" : "a"} ${word}`;

/** The seed's example: customer-service calls of an energy supplier, with a summary. */
export default defineDataset({
  fields: ["Call", "Summary"],
  generate: (faker) => ({
    Phone: faker.phone.number({ style: "national" }),
    Address: `${faker.location.streetAddress()}, ${faker.location.city()}`,
    Company: `${faker.company.name()} Energy`,
  }),
  prompt: ({ params, values }) => {
    const call = params.Call ?? {};
    const summary = params.Summary ?? {};
    return (
      `Generate ${withArticle(call.Conversation)} phone call in which a client with phone number ${values.Phone} ` +
      `and address ${values.Address}, with ${withArticle(call.Attitude)} attitude, contacts the supplying company ` +
      `${values.Company} to report a ` +
      `problem with ${call.Problem}. Finally, the call ${call.Solved} solved ${call.Manner}.\n` +
      `Then write ${withArticle(summary.Extension)} summary of the call.\n` +
      `Format: write [Call] before the conversation and [Summary] before the summary.`
    );
  },
});
