/**
 * Every exported name of the shipped TypeScript (app/, src/, receivers/, processors/, exporters/; tests,
 * test data and declaration files excepted) has a doc comment right above it: the line above the `export`
 * declaration (decorators skipped) ends a `/** ... *\/` block or is a `//` comment. Public docstrings give
 * shapes, units, errors and the source of a rule (spec or peer); this guard keeps a newcomer from landing
 * without one. It reads the files only: nothing is compiled or run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FOLDERS = ['app', 'src', 'receivers', 'processors', 'exporters'];

/** An exported declaration at the start of a line: its kind and name. */
const EXPORT = /^export (?:default )?(?:async )?(?:abstract )?(function\*?|class|interface|type|const|let|enum) +([A-Za-z_$][\w$]*)/;

/** `file:line: name` of each export in `text` whose previous line (decorators skipped) is not a comment. */
function undocumentedExports(text: string, file: string): string[] {
  const lines = text.split('\n');
  const out: string[] = [];
  lines.forEach((line, i) => {
    const m = EXPORT.exec(line);
    if (!m) return;
    let j = i - 1;
    while (j >= 0 && lines[j]!.trim().startsWith('@')) j--;
    const prev = j >= 0 ? lines[j]!.trim() : '';
    if (prev.endsWith('*/') || prev.startsWith('//')) return;
    out.push(`${file}:${i + 1}: ${m[2]}`);
  });
  return out;
}

/** The shipped .ts files under the folders, as paths relative to the repository root, sorted. */
function sourceFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
      const rel = `${dir}/${e.name}`;
      if (e.isDirectory()) {
        if (e.name !== 'node_modules' && e.name !== 'testdata') walk(rel);
      } else if (e.isFile() && rel.endsWith('.ts') && !rel.endsWith('.test.ts') && !rel.endsWith('.d.ts')) {
        out.push(rel);
      }
    }
  };
  for (const f of FOLDERS) if (fs.existsSync(path.join(ROOT, f))) walk(f);
  return out.sort();
}

describe('doc comments on exported names', () => {
  it('applies the rule: a comment right above, decorators skipped', () => {
    const text = [
      '/** Documented. */',
      'export const a = 1;',
      'export function b(): void {}',
      '// a line comment counts',
      'export type C = string;',
      '/**',
      ' * A block.',
      ' */',
      '@sealed',
      'export class D {}',
      '',
      'export default async function e() {}',
      '  export const notTopLevel = 1;',
      'export { a as f };',
      'export interface G {}',
    ].join('\n');
    expect(undocumentedExports(text, 'x.ts')).toEqual(['x.ts:3: b', 'x.ts:12: e', 'x.ts:15: G']);
  });

  it('finds the shipped sources', () => {
    const files = sourceFiles();
    expect(files).toContain('src/model.ts');
    expect(files.some((f) => f.startsWith('processors/'))).toBe(true);
    expect(files.some((f) => f.endsWith('.test.ts'))).toBe(false);
  });

  it('every exported name has a doc comment', () => {
    const missing = sourceFiles().flatMap((f) => undocumentedExports(fs.readFileSync(path.join(ROOT, f), 'utf8'), f));
    if (missing.length) console.log(`exports without a doc comment (${missing.length}):\n${missing.join('\n')}`);
    expect(missing).toEqual([]);
  });
});
