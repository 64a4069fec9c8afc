/**
 * The dependency direction of ARCHITECTURE.md: the core (src/) imports no component and not the
 * application; components may import the core. Every import of the shipped code in src/ (static,
 * `export ... from`, and dynamic `import('...')`; tests excluded, as they may wire components) is resolved
 * and must stay inside src/ or be a package.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');
const OUTSIDE_CORE = ['receivers', 'processors', 'exporters', 'app'];

function walk(dir: string, out: string[] = []): string[] {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (/\.(ts|mts|js|mjs)$/.test(e.name) && !/\.test\.ts$/.test(e.name)) out.push(p);
  }
  return out;
}

/** The module specifiers a source file imports: `from '...'`, `import '...'`, `import('...')`. */
function importSpecifiers(source: string): string[] {
  const out: string[] = [];
  const re = /\bfrom\s*['"]([^'"]+)['"]|\bimport\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (const m of source.matchAll(re)) out.push((m[1] ?? m[2] ?? m[3])!);
  return out;
}

/** The imports of the files under `dir` that resolve into one of the component folders or app/. */
function violations(dir: string): string[] {
  const bad: string[] = [];
  for (const file of walk(dir)) {
    for (const spec of importSpecifiers(fs.readFileSync(file, 'utf8'))) {
      if (!spec.startsWith('.')) continue; // a package or node: builtin
      const target = path.relative(ROOT, path.resolve(path.dirname(file), spec));
      if (OUTSIDE_CORE.includes(target.split(path.sep)[0]!)) bad.push(`${path.relative(ROOT, file)} imports ${spec}`);
    }
  }
  return bad;
}

describe('dependency direction (ARCHITECTURE.md)', () => {
  it('src/ imports nothing from receivers/, processors/, exporters/ or app/', () => {
    expect(violations(path.join(ROOT, 'src'))).toEqual([]);
  });

  it('sees every kind of import', () => {
    const src = `import { a } from '../processors/x.ts';\nexport { b } from "../exporters/y.ts";\nimport '../receivers/z.ts';\nconst m = await import('../app/cli.ts');\nimport type { T } from 'yaml';`;
    expect(importSpecifiers(src)).toEqual(['../processors/x.ts', '../exporters/y.ts', '../receivers/z.ts', '../app/cli.ts', 'yaml']);
  });
});
