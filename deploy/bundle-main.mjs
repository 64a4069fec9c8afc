// dist/app/main.js, written by deploy/bundle.mjs (issue 21, start-up): loads the daemon's bundle,
// dist/app/vigil.cjs (one CommonJS function expression), compiled with V8's code cache dist/app/vigil.v8cache,
// which the build's training start made (deploy/code-cache.mjs). With the cache, V8 neither parses the bundle
// nor compiles again the functions a start runs; it refuses a cache made by another V8 version, with other V8
// flags or for a source of another length, and the bundle is then compiled from its source as usual. V8 does not
// compare the code itself: deploy/bundle.mjs deletes the cache whenever it writes the bundle, and only
// deploy/code-cache.mjs writes one, from the bundle beside it.
//
// The cache is `vigil.v8cache`, or `vigil.<heap flags>.v8cache` under V8 heap-size flags (heapFlagsKey below).
//
// Environment (build and tests only):
//   VIGIL_CODE_CACHE_TRAINING=<file> no cache is read; once start-up is over (src/startup-v8.ts
//                                    releaseAfterStartup, with V8's flags back to their defaults, as when this
//                                    file compiles the bundle), the cache of everything compiled so far is written,
//                                    then its path to <file> (the build learns the name from here alone)
//   VIGIL_CODE_CACHE_REPORT=<file>   writes there what V8 did with the cache: accepted, rejected or none
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

const file = fileURLToPath(new URL('./vigil.cjs', import.meta.url));

/**
 * The V8 heap-size flags of this process (command line and NODE_OPTIONS), sorted, as `name_value` joined by
 * dots (`max-old-space-size_136.max-semi-space-size_8`); '' without any. V8 refuses a cache made under other
 * flags, and the shipped deployments set heap sizes (deploy/kubernetes, deploy/systemd): the build makes a
 * cache for each of their flag sets (deploy/code-cache.mjs FLAG_SETS), named by this key.
 */
function heapFlagsKey() {
  const words = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  const flags = [];
  for (const w of words) {
    const m = /^--(max[-_]old[-_]space[-_]size|max[-_]semi[-_]space[-_]size|min[-_]semi[-_]space[-_]size|max[-_]heap[-_]size|stack[-_]size)=(\d+)$/.exec(w);
    if (m) flags.push(`${m[1].replaceAll('_', '-')}_${m[2]}`);
  }
  return flags.sort().join('.');
}
const key = heapFlagsKey();
const cacheFile = fileURLToPath(new URL(key ? `./vigil.${key}.v8cache` : './vigil.v8cache', import.meta.url));
const training = process.env.VIGIL_CODE_CACHE_TRAINING;

/**
 * The bytes of `file` in memory that V8 maps and unmaps itself (a WebAssembly.Memory), or undefined when it cannot
 * be read. A Buffer of this size (over 128 KiB) is a malloc() that glibc serves with mmap(), and freeing it raises
 * glibc's threshold for mmap() to its size: the start-up's later allocations of up to that size then come from the
 * main arena, whose fragments stay resident (1.5 MiB of idle RSS here, measured in /proc/PID/smaps `[heap]`).
 */
function readOutsideMalloc(path) {
  let fd;
  try {
    fd = fs.openSync(path, 'r');
    const size = fs.fstatSync(fd).size;
    const memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(size / 65536)) });
    const bytes = new Uint8Array(memory.buffer, 0, size);
    for (let at = 0; at < size; ) {
      const n = fs.readSync(fd, bytes, at, size - at, at);
      if (n === 0) return undefined;
      at += n;
    }
    return bytes;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** The bundle's code: ASCII only (deploy/bundle.mjs checks it), decoded as latin1, kept by V8 as a one-byte string. */
function bundleSource() {
  const bytes = readOutsideMalloc(file);
  if (!bytes) return fs.readFileSync(file, 'latin1'); // for the error it throws
  return Buffer.from(bytes.buffer, 0, bytes.length).toString('latin1');
}

let cachedData = training ? undefined : readOutsideMalloc(cacheFile);
const script = new vm.Script(bundleSource(), { filename: file, cachedData });
if (process.env.VIGIL_CODE_CACHE_REPORT) {
  fs.writeFileSync(process.env.VIGIL_CODE_CACHE_REPORT, cachedData === undefined ? 'none' : script.cachedDataRejected ? 'rejected' : 'accepted');
}
cachedData = undefined; // the cache's bytes are not needed once compiled
if (training) {
  process.once('vigil:startup-released', () => {
    // whole or not at all, and named to the build once it is there
    fs.writeFileSync(`${cacheFile}.tmp`, script.createCachedData());
    fs.renameSync(`${cacheFile}.tmp`, cacheFile);
    fs.writeFileSync(training, cacheFile);
  });
}
const module = { exports: {} };
script.runInThisContext()(module.exports, createRequire(file), module, file, path.dirname(file));
