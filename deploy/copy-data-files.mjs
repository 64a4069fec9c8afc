#!/usr/bin/env node
// Copies the data files that components read at run time (price tables, JSON schemas, templates: any
// *.json, *.yaml, *.yml, *.txt, *.tmpl, *.html, and the status page's *.css, *.js, *.svg beside the sources) into the build output, at the same
// relative path, so that `new URL('./prices.json', import.meta.url)` resolves from dist/ as it does from
// the sources. Test files and testdata/ folders are left out.
//
//   node deploy/copy-data-files.mjs <repo root> <dist dir>
import fs from 'node:fs';
import path from 'node:path';

export const SOURCE_DIRS = ['app', 'src', 'receivers', 'processors', 'exporters'];
const DATA_EXT = /\.(json|ya?ml|txt|tmpl|html|css|js|svg|proto)$/i;
const SKIP_DIR = new Set(['testdata', 'node_modules', '__snapshots__', 'fixtures']);

/** Relative paths (from `root`) of every runtime data file below the source folders. */
export function findDataFiles(root) {
  const found = [];
  const walk = (rel) => {
    let entries;
    try {
      entries = fs.readdirSync(path.join(root, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const child = path.join(rel, e.name);
      if (e.isDirectory()) {
        if (!SKIP_DIR.has(e.name)) walk(child);
      } else if (e.isFile() && DATA_EXT.test(e.name) && !/\.test\./.test(e.name)) {
        found.push(child);
      }
    }
  };
  for (const d of SOURCE_DIRS) walk(d);
  return found.sort();
}

/** Copies every data file below `root`'s source folders into `dist`; returns the relative paths copied. */
export function copyDataFiles(root, dist) {
  const files = findDataFiles(root);
  for (const rel of files) {
    const to = path.join(dist, rel);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.copyFileSync(path.join(root, rel), to);
  }
  return files;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [root = '.', dist = 'dist'] = process.argv.slice(2);
  const files = copyDataFiles(path.resolve(root), path.resolve(root, dist));
  console.log(`copied ${files.length} data file(s) into ${dist}${files.length ? ': ' + files.join(', ') : ''}`);
}
