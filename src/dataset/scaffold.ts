// `synthai init <dir>`: a dataset to start from, a spec module and its params.json.
import { lstat, mkdir, writeFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { siblingModule } from "../io/sibling-module.ts";
import { UserError } from "../errors.ts";

/**
 * The spec, TypeScript or JavaScript: the same code, erasable either way (`?.`, no `!`), so that
 * the JavaScript one runs on a Node that cannot strip types; its types come from a JSDoc line.
 */
const SPEC_TEMPLATE = (
  specImport: string,
  typescript: boolean,
) => `${typescript ? "" : "// @ts-check\n"}import { defineDataset } from "${specImport}";

// A dataset: what the model writes (fields), how a draw of params.json becomes a prompt,
// and (optionally) how an answer becomes fields. \`synthai preview\` shows its prompts.
export default defineDataset({
  fields: ["Review", "Rating"],
  // Values no list can hold, from a seeded faker (https://fakerjs.dev/api/).
  generate: (faker) => ({ Reviewer: faker.person.fullName() }),
${typescript ? "" : `  /** @param {import("${specImport}").Draw} draw params.json's values by field, and generated ones */\n`}  // What every request says first, what varies last: the service bills a prompt's start it has
  // seen before (1,024 tokens or more) at its cached price; \`synthai preview\` shows how much is shared.
  prompt: ({ params, values }) =>
    \`Write a review of a product, then give it a rating from 1 to 5 that fits the review.\\n\` +
    \`Format: write [Review] before the review and [Rating] before the rating.\\n\` +
    \`Write a \${params.Review?.Tone} review of \${params.Review?.Product} by \${values.Reviewer}.\`,
  // parse is optional: by default "[Field] text" sections are split out, and an answer that
  // misses one is malformed and asked again.
});
`;

const PARAMS_TEMPLATE = {
  Review: {
    Product: ["a kettle", "a desk lamp", "running shoes"],
    Tone: ["enthusiastic", "disappointed", "balanced"],
  },
  Rating: { Scale: ["1 to 5"] },
};

/** `init --prompt`: a prompt file over the rows of an input, with one drawn parameter. */
const PROMPT_TEMPLATE = `---
fields: [Label, Reason]
system: You label texts carefully and explain each label in one sentence.
# Static text first, placeholders last: the service bills a prompt's start it has seen before
# (1,024 tokens or more) at its cached price; \`synthai preview\` shows how much is shared.
---
Label a text as positive, negative or neutral, and explain the label in one sentence of the
style given.
Write [Label] before the label and [Reason] before the explanation.

Style: {{Style}}
Text:
"{{text}}"
`;

const ROWS_TEMPLATE = `text\n"The delivery came a day early, well packed."\n"Support never answered my two emails."\n`;

/**
 * `synthai init <dir>`: a spec module and a params.json to start a dataset from (`dataset.ts`
 * where the Node running synthai strips types, else `dataset.mjs`), or with `prompt` a prompt
 * file, its params.json and the rows it labels.
 */
export async function scaffold(dir: string, { prompt = false, typescript = false } = {}): Promise<string[]> {
  const target = resolve(dir);
  const files = prompt
    ? [join(target, "prompt.md"), join(target, "params.json"), join(target, "rows.csv")]
    : [join(target, typescript ? "dataset.ts" : "dataset.mjs"), join(target, "params.json")];
  // lstat, not access: a link to nowhere is there too, and writing would follow it.
  for (const file of files)
    if (await isThere(file))
      throw new UserError(`${file} already exists`, "choose an empty folder for `synthai init`");
  await mkdir(target, { recursive: true }).catch(async (error: NodeJS.ErrnoException) => {
    if ((await lstat(target).catch(() => undefined))?.isSymbolicLink())
      throw new UserError(`${target} is a link to nowhere`, "choose a folder for `synthai init`");
    if (error.code !== "EEXIST" && error.code !== "ENOTDIR") throw error;
    throw new UserError(`${target} is a file, or inside one`, "choose a folder for `synthai init`");
  });
  if (prompt) {
    await writeFile(files[0]!, PROMPT_TEMPLATE);
    await writeFile(files[1]!, `${JSON.stringify({ Reason: { Style: ["plain", "concise"] } }, null, 2)}\n`);
    await writeFile(files[2]!, ROWS_TEMPLATE);
    return files;
  }
  const specModule = fileURLToPath(siblingModule("../spec.ts", import.meta.url));
  let specImport = relative(target, specModule).split("\\").join("/");
  if (!specImport.startsWith(".")) specImport = `./${specImport}`;
  await writeFile(files[0]!, SPEC_TEMPLATE(specImport, typescript));
  await writeFile(files[1]!, `${JSON.stringify(PARAMS_TEMPLATE, null, 2)}\n`);
  return files;
}

const isThere = (path: string) =>
  lstat(path).then(
    () => true,
    () => false,
  );
