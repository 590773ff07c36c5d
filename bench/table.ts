/** The benchmark's result rows and their markdown table. */

export type Verdict = 'met' | 'MISSED' | 'info';

export interface Row {
  /** Which measurement (1-5 of the benchmark issue). */
  section: string;
  what: string;
  ours: string;
  /** The reference, measured in the same run (or the contract's bound when there is nothing to run). */
  reference: string;
  /** Ratio and/or the target it is judged against. */
  target: string;
  verdict: Verdict;
}

/** `met` when `ok`, `MISSED` otherwise. */
export const judge = (ok: boolean): Verdict => (ok ? 'met' : 'MISSED');

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function markdownTable(rows: readonly Row[]): string {
  const lines = [
    '| # | what | ours | reference (same run) | ratio / target | verdict |',
    '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${[r.section, r.what, r.ours, r.reference, r.target, r.verdict === 'MISSED' ? '**MISSED**' : r.verdict].map(cell).join(' | ')} |`),
  ];
  return lines.join('\n');
}
