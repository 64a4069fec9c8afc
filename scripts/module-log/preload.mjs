// `node --import ./scripts/module-log/preload.mjs ...` with VIGIL_MODULE_LOG=<file>: at exit, appends to that
// file one line per module the process loaded: `esm <url>` for every module that went through the ES module
// loader (vigil's own, packages' ESM builds, the CommonJS entries they import) and `cjs <path>` for every
// CommonJS module in require's cache. Used by test/startup-modules.test.ts and bench/daemon.ts to count what
// start-up loads (a count that does not depend on machine load, unlike a timing). With
// VIGIL_MEMORY_LOG=<file>, SIGUSR2 writes process.memoryUsage() there as JSON (bench/daemon.ts: heap beside RSS).
import fs from 'node:fs';
import { createRequire, register } from 'node:module';

const out = process.env.VIGIL_MODULE_LOG;
let write = () => {};
if (out) {
  const { port1, port2 } = new MessageChannel();
  const esm = new Set();
  port1.on('message', (url) => esm.add(url));
  port1.unref();
  register('./hook.mjs', { parentURL: import.meta.url, data: { port: port2 }, transferList: [port2] });
  const cache = createRequire(import.meta.url).cache;
  write = () => {
    const lines = [...[...esm].map((u) => `esm ${u}`), ...Object.keys(cache).map((p) => `cjs ${p}`)];
    fs.writeFileSync(out, lines.join('\n') + '\n');
  };
  process.on('exit', write);
}
const memOut = process.env.VIGIL_MEMORY_LOG;
if (out || memOut) {
  // a running daemon asked for its module list and memory (bench/daemon.ts)
  process.on('SIGUSR2', () => {
    write();
    if (memOut) fs.writeFileSync(memOut, JSON.stringify(process.memoryUsage()));
  });
}
