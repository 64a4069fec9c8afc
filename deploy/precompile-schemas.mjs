#!/usr/bin/env node
// A step of `npm run build`, after tsc (issue 21, start-up): compiles every config and event schema vigil ships
// to a validator ahead of time, with Ajv's standalone mode, so that the daemon neither loads Ajv's compiler
// nor compiles a schema at start. One CommonJS file per schema, <dist>/precompiled-validators/<key>.cjs,
// where <key> is src/config/ajv.ts's schemaKey (the option set and the SHA-1 of the schema's JSON): the
// daemon finds a schema's file by that key, and compiles at run time a schema without one.
// The schemas: the config's top level, every component's config (all components, so that any config starts
// without compiling) and the http_json event schemas, read from tsc's per-file output in <dist>.
// Each schema is three files: <key>.code.cjs (the validator's code, as a CommonJS module function), <key>.v8cache (V8's code cache of it, made
// here after one call, so that it holds the compiled validate function too) and <key>.cjs, the module the
// daemon requires, which compiles the code with that cache (loadValidator below): V8 then skips parsing and
// compiling it (the alerts validator, 170 KB: 25 ms to require and call first without the cache, 7 ms with it).
// V8 refuses a cache made by another V8 version or with other V8 flags; the code is then compiled as usual. The
// caches are made under the V8 flags the daemon holds while it starts (src/startup-v8.ts holdForStartup), since
// V8 checks the flags in force, and the validators are loaded during start-up.
//
//   node deploy/precompile-schemas.mjs <repo root> <dist dir>
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import vm from 'node:vm';
import { pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';

/**
 * A validator module as written to disk: Ajv's standalone code minified by esbuild (still CommonJS), fewer
 * bytes to parse at start (the 22 validators: 580 KB instead of 764 KB).
 */
export function minifyValidator(code) {
  return esbuild.transformSync(code, { loader: 'js', minify: true, target: 'node20' }).code;
}

/**
 * The body of each <key>.cjs (run as CommonJS, with that module's `module` and `require`): compiles
 * <key>.code.cjs with node:vm, given <key>.v8cache as V8's cached data when the file is there, runs it as a
 * CommonJS module whose `require` is the stub's (Ajv's runtime helpers resolve from the same folder) and
 * returns its exports, the validate function. Its `codeCache` property says what V8 did with the cache:
 * `accepted`, `rejected` (another V8 version or other V8 flags than the build's: compiled from the source) or
 * `none`. Written out with Function.prototype.toString, so it uses nothing from this module's scope.
 */
export function loadValidator(module, require) {
  const fs = require('node:fs');
  const vm = require('node:vm');
  const base = module.filename.replace(/\.cjs$/, '');
  const codeFile = `${base}.code.cjs`;
  let cachedData;
  try {
    cachedData = fs.readFileSync(`${base}.v8cache`);
  } catch {
    cachedData = undefined;
  }
  // the code as writeValidator wrote it, a CommonJS module function: the very source the cache was made from
  const script = new vm.Script(fs.readFileSync(codeFile, 'utf8'), { filename: codeFile, cachedData });
  const inner = { exports: {} };
  script.runInThisContext()(inner.exports, require, inner, codeFile, base.slice(0, base.lastIndexOf('/')));
  const codeCache = cachedData === undefined ? 'none' : script.cachedDataRejected ? 'rejected' : 'accepted';
  Object.defineProperty(inner.exports, 'codeCache', { value: codeCache });
  return inner.exports;
}

/**
 * V8's code cache of validator `code` (the module function writeValidator writes) compiled as loadValidator compiles it, made after
 * one call of the validator (on `{}`) so that the cache holds the validate function's compiled code too, not
 * only the module's top level. `file`: the <key>.code.cjs path, for the module's `require`.
 */
function codeCacheOf(code, file) {
  const script = new vm.Script(code, { filename: file });
  const inner = { exports: {} };
  script.runInThisContext()(inner.exports, createRequire(file), inner, file, path.dirname(file));
  inner.exports({});
  return script.createCachedData();
}

/**
 * Writes validator `code` (Ajv standalone code, minified) as schema `key`'s three files in `dir`: <key>.code.cjs,
 * <key>.v8cache (made under the V8 flags in force now) and the <key>.cjs that loads them (loadValidator).
 */
export function writeValidator(dir, key, code) {
  const codeFile = path.join(dir, `${key}.code.cjs`);
  // as a CommonJS module function, which loadValidator and codeCacheOf compile as it is
  const wrapped = `(function (exports, require, module, __filename, __dirname) {${code}\n});`;
  fs.writeFileSync(codeFile, wrapped);
  fs.writeFileSync(path.join(dir, `${key}.v8cache`), codeCacheOf(wrapped, codeFile));
  fs.writeFileSync(path.join(dir, `${key}.cjs`), `"use strict";\nmodule.exports = (${loadValidator.toString()})(module, require);\n`);
}

/** Writes the validators into `<dist>/precompiled-validators/` (emptied first); returns how many. */
export async function precompileSchemas(dist) {
  const load = (rel) => import(pathToFileURL(path.join(dist, rel)).href);
  const [{ components }, { TopSchema }, { EVENT_SCHEMAS }, { standaloneModule, schemaKey, PRECOMPILED_DIR }, { holdForStartup, releaseAfterStartup }] = await Promise.all([
    load('app/components.js'),
    load('src/config/load.js'),
    load('receivers/http_json/event-schema.js'),
    load('src/config/ajv.js'),
    load('src/startup-v8.js'),
  ]);
  const schemas = [[TopSchema, 'config'], ...(await components.all()).map((f) => [f.schema, 'config']), ...Object.values(EVENT_SCHEMAS).map((s) => [s, 'events'])];
  fs.rmSync(PRECOMPILED_DIR, { recursive: true, force: true });
  fs.mkdirSync(PRECOMPILED_DIR, { recursive: true });
  const codes = new Map();
  for (const [schema, set] of schemas) {
    const key = schemaKey(schema, set);
    if (!codes.has(key)) codes.set(key, minifyValidator(standaloneModule(schema, set)));
  }
  // after esbuild's minifying: its worker thread, when it starts, gives V8's heap flags their defaults back
  holdForStartup();
  for (const [key, code] of codes) writeValidator(PRECOMPILED_DIR, key, code);
  releaseAfterStartup();
  return { count: codes.size, dir: PRECOMPILED_DIR };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [root = '.', dist = 'dist'] = process.argv.slice(2);
  const { count, dir } = await precompileSchemas(path.resolve(root, dist));
  console.log(`precompiled ${count} schema validators into ${path.relative(process.cwd(), dir) || dir}`);
}
