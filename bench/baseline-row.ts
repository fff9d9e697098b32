// The one CSV row both baselines write for an output line: custom_id, answer, total tokens,
// with a hand-written quote and no checks.
const quote = (text: string) => `"${text.replaceAll('"', '""')}"`;

export function baselineRow(line: string): string {
  const result = JSON.parse(line);
  return `${result.custom_id},${quote(result.response.body.choices[0].message.content)},${result.response.body.usage.total_tokens}\n`;
}
