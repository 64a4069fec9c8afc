// `node --import ./scripts/module-log/preload.mjs ...` with VIGIL_MODULE_LOG=<file>: at exit, appends to that
// file one line per module the process loaded: `esm <url>` for every module that went through the ES module
// loader (vigil's own, packages' ESM builds, the CommonJS entries they import) and `cjs <path>` for every
// CommonJS module loaded (also one since removed from require's cache); `<file>.cached` lists require's cache as it
// is at that moment. Used by test/startup-modules.test.ts and bench/daemon.ts to count what
// start-up loads (a count that does not depend on machine load, unlike a timing). With
// VIGIL_MEMORY_LOG=<file>, SIGUSR2 writes process.memoryUsage() there as JSON, with `spaces`: each V8 heap space's
// committed bytes (bench/daemon.ts: heap and the young generation beside RSS).
import fs from 'node:fs';
import { createRequire, register } from 'node:module';
import v8 from 'node:v8';

const out = process.env.VIGIL_MODULE_LOG;
let write = () => {};
if (out) {
  const { port1, port2 } = new MessageChannel();
  const esm = new Set();
  port1.on('message', (url) => esm.add(url));
  port1.unref();
  register('./hook.mjs', { parentURL: import.meta.url, data: { port: port2 }, transferList: [port2] });
  const require = createRequire(import.meta.url);
  const cache = require.cache;
  // every CommonJS module loaded, also one that later left require's cache (the daemon drops its config
  // validators once running: src/config/ajv.ts forgetValidators)
  const cjs = new Set(Object.keys(cache));
  const Module = require('node:module');
  const load = Module.prototype.load;
  Module.prototype.load = function (filename) {
    cjs.add(filename);
    return load.call(this, filename);
  };
  write = () => {
    const lines = [...[...esm].map((u) => `esm ${u}`), ...[...new Set([...cjs, ...Object.keys(cache)])].map((p) => `cjs ${p}`)];
    fs.writeFileSync(out, lines.join('\n') + '\n');
    // and those still in require's cache at this moment
    fs.writeFileSync(`${out}.cached`, Object.keys(cache).join('\n') + '\n');
  };
  process.on('exit', write);
}
const memOut = process.env.VIGIL_MEMORY_LOG;
if (out || memOut) {
  // a running daemon asked for its module list and memory (bench/daemon.ts)
  process.on('SIGUSR2', () => {
    write();
    // with each V8 heap space's committed size (bytes), e.g. how far the young generation grew
    if (memOut) fs.writeFileSync(memOut, JSON.stringify({ ...process.memoryUsage(), spaces: Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, s.space_size])) }));
  });
}
