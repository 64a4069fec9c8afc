// Copies the data files components read at run time (price tables ...) next to the compiled code in dist/.
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
let copied = 0;
function walk(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'testdata' && e.name !== 'node_modules') walk(p);
    } else if (/\.(json|yaml)$/.test(e.name)) {
      const to = path.join(root, 'dist', path.relative(root, p));
      fs.mkdirSync(path.dirname(to), { recursive: true });
      fs.copyFileSync(p, to);
      copied++;
    }
  }
}
for (const d of ['src', 'receivers', 'processors', 'exporters']) walk(path.join(root, d));
console.log(`copied ${copied} data file(s) into dist/`);
