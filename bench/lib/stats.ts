// Benchmarks only: statistics over latencies and rounds, and the Markdown
// tables the benchmarks print.

/** The median; NaN for none. */
export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length === 0 ? Number.NaN : s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** The p-quantile (0..1) of an ascending array, nearest rank below; NaN for none. */
export const percentile = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN;

/** A number with `digits` decimals, "-" when it is not finite (a phase with no call). */
export const fmt = (x: number, digits = 1): string => (Number.isFinite(x) ? x.toFixed(digits) : "-");

/** One Markdown table row. */
export const tableRow = (cells: readonly string[]): string => `| ${cells.join(" | ")} |`;

/** A Markdown table: header, alignment row (first column left, the figures right), rows. */
export const markdownTable = (header: readonly string[], rows: ReadonlyArray<readonly string[]>): string =>
  [tableRow(header), tableRow(header.map((_, i) => (i === 0 ? "---" : "---:"))), ...rows.map(tableRow)].join("\n");

/** `xs` rotated left by `by` (mod its length): rounds that start each with another phase. */
export const rotated = <T>(xs: readonly T[], by: number): T[] => {
  const shift = xs.length === 0 ? 0 : by % xs.length;
  return [...xs.slice(shift), ...xs.slice(0, shift)];
};
