#!/usr/bin/env node
// The last step of `npm run build` (issue 21, start-up): makes <dist>/app/vigil.v8cache, V8's code cache of the
// bundle (deploy/bundle.mjs), with a training start: `node <dist>/app/main.js run` on the repository's
// pipelines.yaml, every listener on an ephemeral loopback port and its state in a temporary folder, with
// VIGIL_CODE_CACHE_TRAINING. Once start-up is over, main.js writes the cache of everything compiled so far
// (module evaluation, config loading and validation, every component's start), under V8's default flags; this
// script then stops the daemon. A start with the cache skips parsing the bundle and compiling those functions.
// V8 refuses a cache made under other heap-size flags: there is one training start, and one cache, for each
// NODE_OPTIONS of the shipped deployments (FLAG_SETS). The build fails when a training start does not get ready
// (with what the daemon said).
//
//   node deploy/code-cache.mjs <repo root> <dist dir>
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { shippedConfigEnv } from '../scripts/module-log/shipped-env.mjs';

/**
 * The NODE_OPTIONS of the shipped deployments (deploy/kubernetes/*.yaml, deploy/systemd/vigil.service; none for
 * `npm start` and the container's default): V8 refuses a cache made under other heap-size flags, so there is a
 * cache for each (test/startup-modules.test.ts checks this list against the manifests).
 */
export const FLAG_SETS = ['', '--max-old-space-size=136 --max-semi-space-size=8', '--max-old-space-size=768', '--max-old-space-size=512'];

/** Runs a training start for each of {@link FLAG_SETS}; resolves to the cache files written and their sizes. */
export async function makeCodeCaches(root, dist) {
  const out = [];
  for (const flags of FLAG_SETS) out.push(await makeCodeCache(root, dist, flags));
  return out;
}

/** Runs the training start under NODE_OPTIONS `flags`; resolves to the cache file's path and size once the daemon has exited. */
export async function makeCodeCache(root, dist, flags = '', { timeoutMs = 60_000 } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-code-cache-'));
  // main.js names the cache by the flags (its heapFlagsKey) and writes that name here once the cache is written
  const written = path.join(dir, 'written');
  try {
    const child = spawn(process.execPath, [path.join(dist, 'app/main.js'), 'run', '--config', path.join(root, 'pipelines.yaml')], {
      cwd: dir,
      env: { ...process.env, ...shippedConfigEnv(dir), NODE_OPTIONS: flags, VIGIL_CODE_CACHE_TRAINING: written },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
    const ready = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the training start was not ready within ${timeoutMs} ms`)), timeoutMs);
      // the cache is written just after the ready line (start-up is released then): looked for until it is there
      const poll = setInterval(() => check(), 10);
      const check = () => {
        if (out.includes('everything is ready') && fs.existsSync(written)) {
          clearTimeout(timer);
          clearInterval(poll);
          resolve();
        }
      };
      const take = (c) => {
        // the debug exporter could log more: keep what start-up said
        if (out.length < 200_000) out += c.toString();
        check();
      };
      child.stdout.on('data', take);
      child.stderr.on('data', take);
      void exited.then((how) => {
        clearTimeout(timer);
        clearInterval(poll);
        reject(new Error(`the training start ended (${how}) before it was ready`));
      });
    });
    try {
      await ready;
    } catch (e) {
      child.kill('SIGKILL');
      await exited;
      throw new Error(`${e.message}:\n${out}`);
    }
    child.kill('SIGTERM');
    await exited;
    const file = fs.readFileSync(written, 'utf8');
    return { file, bytes: fs.statSync(file).size };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [root = '.', dist = 'dist'] = process.argv.slice(2);
  const caches = await makeCodeCaches(path.resolve(root), path.resolve(root, dist));
  console.log(`wrote V8's code caches of the bundle (${caches.length}, for ${FLAG_SETS.map((f) => f || 'no heap flags').join('; ')}), ${(caches[0].bytes / 1024 / 1024).toFixed(1)} MiB each, to ${path.dirname(path.relative(process.cwd(), caches[0].file))}`);
}
