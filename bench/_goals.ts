/**
 * Goals come from ONE place, the `goal` column of the README's benchmark table: a bench looks its row up
 * by the start of the row's first cell and reads the number it needs from the goal cell, so changing a
 * goal is one edit in the README and the printed verdicts follow.
 */
import fs from 'node:fs';
import path from 'node:path';

let readme: string | undefined;

/** Read on first use (a bench's server processes run from a bundle elsewhere and never ask for a goal). */
function readmeText(): string {
  return (readme ??= fs.readFileSync(path.join(import.meta.dirname, '..', 'README.md'), 'utf8'));
}

/** The goal cell of the benchmark row whose first cell starts with `row`. @throws when there is none. */
export function goalCell(row: string): string {
  for (const line of readmeText().split('\n')) {
    if (!line.startsWith(`| ${row}`)) continue;
    const cells = line.split(' | ');
    if (cells.length >= 3) return cells[1]!.trim();
  }
  throw new Error(`README.md's benchmark table has no row starting "${row}"`);
}

/** The number captured by `re` in the goal of `row` (thousands separators allowed). */
export function goalNumber(row: string, re: RegExp): number {
  const cell = goalCell(row);
  const m = re.exec(cell);
  if (!m) throw new Error(`README.md's goal for "${row}" ("${cell}") does not match ${re}`);
  return Number(m[1]!.replace(/,/g, ''));
}
