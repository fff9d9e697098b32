/**
 * Rows as aligned columns, two spaces apart, the first row a header. `right` aligns every column
 * after the first to the right (figures); a row of one cell is a heading, printed whole. Given a
 * `width`, only the first column (names) gives way, cut with "…": the figures are never cut.
 */
export function table(rows: string[][], options: { right?: boolean; width?: number } = {}): string {
  const columns = rows.filter((r) => r.length > 1);
  const widths = rows[0]!.map((_, i) => Math.max(...columns.map((r) => (r[i] ?? "").length)));
  if (options.width !== undefined) {
    const rest = widths.slice(1).reduce((sum, w) => sum + w + 2, 0);
    widths[0] = Math.max(4, Math.min(widths[0]!, options.width - rest));
  }
  const cell = (text: string, i: number) => {
    const width = widths[i]!;
    const fitted = i === 0 && text.length > width ? `${text.slice(0, width - 1)}…` : text;
    return options.right && i > 0 ? fitted.padStart(width) : fitted.padEnd(width);
  };
  return rows
    .map((r) =>
      r.length === 1 && r !== rows[0] ? r[0]!.slice(0, options.width) : r.map(cell).join("  ").trimEnd(),
    )
    .join("\n");
}
