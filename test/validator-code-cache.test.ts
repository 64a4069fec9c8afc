/**
 * The precompiled validators' V8 code cache (issue 21, start-up): deploy/precompile-schemas.mjs writes each
 * validator as <key>.code.cjs, <key>.v8cache and a <key>.cjs that compiles the code with that cache. Checked in
 * child processes (plain `node`, so that the V8 flags are known): a cache made under the same flags is
 * accepted; under other flags, or when it is damaged or missing, the validator is compiled from its code and
 * answers the same. Whether the build's caches match the daemon's start-up flags is checked on a real build in
 * test/startup-modules.test.ts.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Type } from '@sinclair/typebox';
import { standaloneModule } from '../src/config/ajv.ts';
import { minifyValidator } from '../deploy/precompile-schemas.mjs';
import { tempDir } from './helpers/index.ts';

const root = path.resolve(import.meta.dirname, '..');
// a schema whose code needs none of Ajv's runtime helpers (the stub's `require` resolves from the temp folder)
const schema = Type.Object({ port: Type.Integer({ minimum: 1 }), mode: Type.Optional(Type.Boolean({ default: true })) }, { additionalProperties: false });
const KEY = 'config_test';

/** Runs `script` (an ES module body) in a plain node child with `flags`; its stdout parsed as JSON. */
function inChild(script: string, flags: string[] = []): Promise<unknown> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [...flags, '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout) as unknown),
    ),
  );
}

/** In a child: requires the stub, validates two inputs; what the cache did, the verdicts, errors and defaults. */
const USE = (dir: string) => `
  import { createRequire } from 'node:module';
  const v = createRequire(${JSON.stringify(`${dir}/`)})('./${KEY}.cjs');
  const good = { port: 4317 };
  const out = { codeCache: v.codeCache, good: v(good), filled: good, bad: v({ port: 0, extra: 1 }), errors: v.errors.map((e) => e.keyword) };
  console.log(JSON.stringify(out));`;

describe('precompiled validators with V8 code cache', () => {
  it('accepts a cache made under the same V8 flags, and compiles from the code when the flags differ or the cache is damaged or missing', async () => {
    const dir = tempDir('validator-code-cache-');
    const code = minifyValidator(standaloneModule(schema));
    const write = `import { writeValidator } from ${JSON.stringify(path.join(root, 'deploy/precompile-schemas.mjs'))}; writeValidator(${JSON.stringify(dir)}, ${JSON.stringify(KEY)}, ${JSON.stringify(code)}); console.log('{}');`;
    await inChild(write);
    for (const f of [`${KEY}.cjs`, `${KEY}.code.cjs`, `${KEY}.v8cache`]) expect(fs.existsSync(path.join(dir, f)), f).toBe(true);
    const answers = { good: true, filled: { port: 4317, mode: true }, bad: false, errors: ['additionalProperties', 'minimum'] };

    expect(await inChild(USE(dir))).toEqual({ codeCache: 'accepted', ...answers });
    // another V8 flag than the build's: V8 refuses the cache
    expect(await inChild(USE(dir), ['--no-opt'])).toEqual({ codeCache: 'rejected', ...answers });
    // the same, when the build ran under that flag
    await inChild(write, ['--no-opt']);
    expect(await inChild(USE(dir), ['--no-opt'])).toEqual({ codeCache: 'accepted', ...answers });
    // a damaged cache: cut short, or bytes of something else
    const cache = fs.readFileSync(path.join(dir, `${KEY}.v8cache`));
    fs.writeFileSync(path.join(dir, `${KEY}.v8cache`), cache.subarray(0, cache.length >> 1));
    expect(await inChild(USE(dir), ['--no-opt'])).toEqual({ codeCache: 'rejected', ...answers });
    fs.writeFileSync(path.join(dir, `${KEY}.v8cache`), Buffer.alloc(cache.length, 7));
    expect(await inChild(USE(dir), ['--no-opt'])).toEqual({ codeCache: 'rejected', ...answers });
    // a cache of other code (the validator rebuilt after a schema change, its cache left over)
    const other = minifyValidator(standaloneModule(Type.Object({ port: Type.Integer({ minimum: 2 }) })));
    await inChild(`import { writeValidator } from ${JSON.stringify(path.join(root, 'deploy/precompile-schemas.mjs'))}; writeValidator(${JSON.stringify(dir)}, 'other', ${JSON.stringify(other)}); console.log('{}');`);
    fs.copyFileSync(path.join(dir, 'other.v8cache'), path.join(dir, `${KEY}.v8cache`));
    expect(await inChild(USE(dir))).toEqual({ codeCache: 'rejected', ...answers });
    fs.rmSync(path.join(dir, `${KEY}.v8cache`));
    expect(await inChild(USE(dir))).toEqual({ codeCache: 'none', ...answers });
  }, 60_000);
});
