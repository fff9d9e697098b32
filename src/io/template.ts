// Mustache templates, as prompt files and chat turns use them: nothing HTML-escaped, since
// prompts and conversations are not web pages.
import Mustache from "mustache";

export function renderTemplate(template: string, view: object): string {
  return Mustache.render(template, view, {}, { escape: (text: string) => text });
}

/** The names a template's placeholders and sections use; Mustache's own error when a tag is not closed. */
export function placeholderNames(template: string): string[] {
  return namesIn(Mustache.parse(template));
}

function namesIn(tokens: unknown[]): string[] {
  const names: string[] = [];
  for (const token of tokens as [string, string, number, number, unknown[]?][]) {
    if (["name", "&", "#", "^"].includes(token[0])) names.push(token[1]);
    if (Array.isArray(token[4])) names.push(...namesIn(token[4]));
  }
  return names;
}
