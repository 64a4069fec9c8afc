/**
 * The validators `npm run build` compiles ahead of time (Ajv standalone code, src/config/ajv.ts
 * `standaloneModule`, bundled by deploy/bundle.mjs) behave exactly as the ones Ajv compiles at run time: for
 * every schema the build precompiles (the config's top level, every component's, the http_json events), on
 * real configs (the shipped pipelines.yaml, src/config/testdata, every component's testdata) and on
 * fast-check's mutations of them, both say valid or not alike, report the same errors and fill in the same
 * defaults. The standalone code (a CommonJS module) is evaluated here with the repo's `require`, as the
 * daemon requires the file deploy/precompile-schemas.mjs writes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import type { TSchema } from '@sinclair/typebox';
import { components } from '../app/components.ts';
import { type AjvOptionSet, compileSchema, standaloneModule } from '../src/config/ajv.ts';
import { TopSchema } from '../src/config/load.ts';
import { EVENT_SCHEMAS } from '../receivers/http_json/event-schema.ts';
import { minifyValidator } from '../deploy/precompile-schemas.mjs';

const ROOT = path.resolve(import.meta.dirname, '..');
type Validate = ((data: unknown) => boolean) & { errors?: unknown[] | null };

/** The standalone module of `schema` as the build writes it (minified), evaluated as CommonJS, its `require` resolving from the repo (ajv, ajv-formats). */
function precompiled(schema: TSchema, set: AjvOptionSet): Validate {
  const module = { exports: {} as unknown };
  new Function('module', 'exports', 'require', minifyValidator(standaloneModule(schema, set)))(module, module.exports, createRequire(path.join(ROOT, 'package.json')));
  return module.exports as Validate;
}

/** Configs of the YAML samples (pipelines.yaml, the container's, src/config/testdata, components' testdata): whole files for the top level, sections by component type. */
function samples(): { top: unknown[]; byType: Map<string, unknown[]> } {
  const files = [path.join(ROOT, 'pipelines.yaml'), path.join(ROOT, 'deploy/pipelines.container.yaml')];
  for (const d of ['src/config/testdata', ...['receivers', 'processors', 'exporters'].flatMap((k) => fs.readdirSync(path.join(ROOT, k)).map((t) => `${k}/${t}/testdata`))]) {
    const dir = path.join(ROOT, d);
    if (fs.existsSync(dir)) for (const f of fs.readdirSync(dir)) if (/\.ya?ml$/.test(f)) files.push(path.join(dir, f));
  }
  const top: unknown[] = [];
  const byType = new Map<string, unknown[]>();
  const add = (type: string, v: unknown) => byType.set(type, [...(byType.get(type) ?? []), v]);
  for (const f of files) {
    let doc: unknown;
    try {
      // `${env:NAME:-default}` as its default (else "x"), as loadConfig expands it
      const text = fs.readFileSync(f, 'utf8').replace(/\$\{env:[A-Za-z_]\w*(?::-([^}]*))?\}/g, (_m, d: string | undefined) => d ?? 'x');
      doc = YAML.parse(text, { merge: true });
    } catch {
      continue; // the bad_yaml sample
    }
    if (!doc || typeof doc !== 'object') continue;
    const d = doc as Record<string, unknown>;
    if ('service' in d) top.push(d);
    else add(path.basename(path.dirname(path.dirname(f))), d); // a component's testdata: the component's own config
    for (const kind of ['receivers', 'processors', 'exporters']) {
      const section = d[kind];
      if (section && typeof section === 'object') for (const [id, cfg] of Object.entries(section)) add(id.split('/')[0]!, cfg ?? {});
    }
  }
  return { top, byType };
}

/** A JSON value changed at one place: a key dropped, a value replaced by another type, or a key added. */
function mutated(base: unknown): fc.Arbitrary<unknown> {
  const leaf = fc.oneof(fc.string({ maxLength: 8 }), fc.integer({ min: -5, max: 100_000 }), fc.double({ noNaN: true }), fc.boolean(), fc.constant(null), fc.constant([]), fc.constant({}), fc.constantFrom('10s', '5m', '1.5', 'localhost:4317', '-1ms'));
  return fc.tuple(fc.nat(), fc.nat(), leaf, fc.constantFrom('drop', 'replace', 'add')).map(([a, b, value, how]) => {
    const copy = structuredClone(base) as unknown;
    const objects: Record<string, unknown>[] = [];
    const walk = (v: unknown) => {
      if (v && typeof v === 'object') {
        objects.push(v as Record<string, unknown>);
        for (const c of Object.values(v)) walk(c);
      }
    };
    walk(copy);
    if (!objects.length) return value;
    const target = objects[a % objects.length]!;
    const keys = Object.keys(target);
    if (how === 'add' || !keys.length) target[Array.isArray(target) ? String(keys.length) : `extra_${b % 3}`] = value;
    else if (how === 'drop') delete target[keys[b % keys.length]!];
    else target[keys[b % keys.length]!] = value;
    return copy;
  });
}

describe('precompiled (standalone) schema validators', async () => {
  const factories = await components.all();
  const { top, byType } = samples();
  const cases: [string, TSchema, AjvOptionSet, unknown[]][] = [
    ['config top level', TopSchema, 'config', top],
    ...factories.map((f): [string, TSchema, AjvOptionSet, unknown[]] => [`${f.kind} ${f.type}`, f.schema, 'config', byType.get(f.type) ?? [{}]]),
    ...Object.entries(EVENT_SCHEMAS).map(([kind, s]): [string, TSchema, AjvOptionSet, unknown[]] => [
      `http_json ${kind} event`,
      s,
      'events',
      fs
        .readFileSync(path.join(ROOT, 'receivers/http_json/testdata/events.ndjson'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as unknown),
    ]),
  ];

  it('has real samples for the top level, the shipped components and the events', () => {
    expect(top.length).toBeGreaterThan(3);
    for (const t of ['otlp', 'http_json', 'memory_limiter', 'cost', 'percentiles', 'alerts', 'debug', 'file', 'prometheus']) expect(byType.get(t)?.length ?? 0, t).toBeGreaterThan(0);
  });

  it.each(cases)('%s: same verdict, errors and defaults as runtime compilation', async (_name, schema, set, inputs) => {
    const runtime = compileSchema(schema, set) as Validate;
    const ahead = precompiled(schema, set);
    expect(ahead).not.toBe(runtime);
    const same = (input: unknown) => {
      const a = structuredClone(input);
      const b = structuredClone(input);
      const okRuntime = runtime(a);
      const errorsRuntime = structuredClone(runtime.errors ?? null);
      expect(ahead(b)).toBe(okRuntime);
      expect(ahead.errors ?? null).toEqual(errorsRuntime);
      expect(b).toEqual(a); // defaults filled in alike
      return okRuntime;
    };
    const verdicts = inputs.map(same);
    if (set === 'config' && _name !== 'config top level') expect(verdicts).toContain(true);
    fc.assert(
      fc.property(fc.constantFrom(...inputs).chain(mutated), (input) => {
        same(input);
      }),
      { numRuns: 150, seed: 21 },
    );
  });
});
