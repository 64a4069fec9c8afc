/**
 * Schema validation with Ajv, compiled once per schema, or ahead of time: `npm run build`
 * (deploy/precompile-schemas.mjs) compiles every schema vigil ships to code with Ajv's standalone mode
 * ({@link standaloneModule}), one CommonJS file per schema in dist/precompiled-validators/, named by
 * {@link schemaKey}; `vigil run` from dist/ requires the file of each schema it uses instead of loading Ajv's
 * compiler and compiling at start (issue 21). A schema the build did not see (run from the sources, tests'
 * doubles, a schema changed since) is compiled at first use, with the same options.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Ajv, ErrorObject, Options, ValidateFunction } from 'ajv';
import type { TSchema } from '@sinclair/typebox';
import type { Factory } from '../component.ts';

/**
 * The option sets schemas are compiled with. `config` (component and top-level config): all errors reported,
 * `default`s filled in (`useDefaults`), no type coercion, and no infinities or NaN where a number or an integer
 * is expected (`strictNumbers`: YAML writes them `.inf` and `.nan`, and Ajv would otherwise take `.inf` for an
 * integer). `events` (http_json events, per request): the first error only, no defaults. Both with ajv-formats'
 * full formats.
 */
export const AJV_OPTIONS = {
  config: { allErrors: true, useDefaults: true, strict: false, coerceTypes: false, strictNumbers: true },
  events: { allErrors: false, useDefaults: false, strict: false, coerceTypes: false },
} as const satisfies Record<string, Options>;
/** The name of an option set in {@link AJV_OPTIONS}. */
export type AjvOptionSet = keyof typeof AJV_OPTIONS;

// Ajv and ajv-formats are loaded on first runtime compilation only (CommonJS, through require).
const requireCjs = createRequire(import.meta.url);
const instances = new Map<AjvOptionSet, Ajv>();

function newAjv(set: AjvOptionSet, extra: Options = {}): Ajv {
  const { Ajv: AjvClass } = requireCjs('ajv') as typeof import('ajv');
  const addFormats = (requireCjs('ajv-formats') as { default: (ajv: Ajv) => Ajv }).default;
  const ajv = new AjvClass({ ...AJV_OPTIONS[set], ...extra });
  addFormats(ajv);
  return ajv;
}

/**
 * The key of a schema's validator: the option set and the SHA-1 of the schema's JSON (an identifier:
 * `config_<40 hex>`). The build and the runtime compute it alike, so a changed schema never meets a stale
 * precompiled validator.
 */
export function schemaKey(schema: TSchema, set: AjvOptionSet = 'config'): string {
  return `${set}_${createHash('sha1').update(JSON.stringify(schema)).digest('hex')}`;
}

/**
 * Where the build writes the precompiled validators: `<dist>/precompiled-validators/<key>.cjs` (from
 * dist/src/config/ajv.js; run from the sources the folder does not exist, and every schema compiles at run time).
 */
export const PRECOMPILED_DIR = fileURLToPath(new URL('../../precompiled-validators/', import.meta.url));

/** The precompiled validator files required so far, by option set (what {@link forgetValidators} unloads). */
const requiredFiles = new Map<AjvOptionSet, Set<string>>();

function precompiled(key: string, set: AjvOptionSet): ValidateFunction | undefined {
  const file = `${PRECOMPILED_DIR}${key}.cjs`;
  if (!fs.existsSync(file)) return undefined;
  const v = requireCjs(file) as ValidateFunction;
  let files = requiredFiles.get(set);
  if (!files) requiredFiles.set(set, (files = new Set()));
  files.add(requireCjs.resolve(file));
  return v;
}

const compiled = new Map<AjvOptionSet, WeakMap<TSchema, ValidateFunction>>();

/**
 * Drops the validators of option set `set`: the cached ones, the precompiled modules from require's cache and
 * the Ajv instance that compiled the others, so that garbage collection frees their code and sources. For the
 * `config` set once the daemon is running (issue 21, idle memory: the shipped config's validators are about
 * 0.8 MiB of heap, one of them 0.5 MiB, used once at start); a later {@link compileSchema} (a reload) loads them
 * again. Returns how many precompiled modules left require's cache. A validator still referenced elsewhere stays
 * usable.
 */
export function forgetValidators(set: AjvOptionSet): number {
  compiled.delete(set);
  instances.delete(set);
  const files = requiredFiles.get(set) ?? new Set<string>();
  requiredFiles.delete(set);
  let n = 0;
  for (const file of files) {
    const m = requireCjs.cache[file];
    if (!m) continue;
    delete requireCjs.cache[file];
    // the requiring module lists it among its children too
    const siblings = (m as { parent?: NodeJS.Module | null }).parent?.children;
    if (siblings?.includes(m)) siblings.splice(siblings.indexOf(m), 1);
    n++;
  }
  return n;
}

/** The precompiled validator modules of option set `set` now in require's cache (for tests and the idle-memory check). */
export function loadedPrecompiledValidators(set: AjvOptionSet): string[] {
  return Object.keys(requireCjs.cache).filter((f) => f.startsWith(PRECOMPILED_DIR) && f.slice(PRECOMPILED_DIR.length).startsWith(`${set}_`));
}

/**
 * The Ajv validator of a TypeBox schema under option set `set`: the build's precompiled one when there is one
 * for this schema, else compiled now; once per schema object, cached.
 */
export function compileSchema(schema: TSchema, set: AjvOptionSet = 'config'): ValidateFunction {
  let bySchema = compiled.get(set);
  if (!bySchema) compiled.set(set, (bySchema = new WeakMap()));
  let v = bySchema.get(schema);
  if (!v) {
    v = precompiled(schemaKey(schema, set), set) ?? runtimeCompile(schema, set);
    bySchema.set(schema, v);
  }
  return v;
}

function runtimeCompile(schema: TSchema, set: AjvOptionSet): ValidateFunction {
  let ajv = instances.get(set);
  if (!ajv) instances.set(set, (ajv = newAjv(set)));
  return ajv.compile(schema);
}

/**
 * The CommonJS module source of `schema`'s validator under option set `set`, compiled by Ajv's standalone
 * mode (https://ajv.js.org/standalone.html): `module.exports` is the validate function; its runtime helpers
 * and formats are `require`d from ajv and ajv-formats (dependencies of the runtime image). Build time only.
 */
export function standaloneModule(schema: TSchema, set: AjvOptionSet = 'config'): string {
  const { _ } = requireCjs('ajv') as typeof import('ajv');
  const standaloneCode = (requireCjs('ajv/dist/standalone') as { default: (ajv: Ajv, v: ValidateFunction) => string }).default;
  const ajv = newAjv(set, { code: { source: true, formats: _`require("ajv-formats/dist/formats").fullFormats` } });
  return standaloneCode(ajv, ajv.compile(schema));
}

/**
 * Validates (and fills defaults into) a component config in place; returns every issue found. When the schema
 * refuses only items of the factory's `independentItems` lists, its `validate` still runs on a copy without
 * them, so that one bad rule does not hide the problems of the others.
 */
export function validateComponentConfig(factory: Factory, config: unknown): SchemaIssue[] {
  const validate = compileSchema(factory.schema);
  if (validate(config)) {
    return factory.validate ? factory.validate(config as never) : [];
  }
  const errors = validate.errors ?? [];
  const issues = describeAjvErrors(errors, factory.schema, config);
  if (!factory.validate || !factory.independentItems?.length) return issues;
  const rest = withoutRefusedItems(config, errors, factory.independentItems, factory.schema);
  if (!rest || !validate(rest.config)) return issues;
  return [...issues, ...factory.validate(rest.config as never).map((i) => ({ ...i, path: rest.originalPath(i.path) }))];
}

/**
 * A copy of `config` without the list items the schema refused (for each error, the innermost item of a list
 * named in `keys` that holds it) and with a refused top-level value that has a plain default (`interval: 5
 * minutes`) left to its default; and a map from a path in the copy to the same place in `config`. Undefined
 * when an error is anywhere else.
 */
function withoutRefusedItems(
  config: unknown,
  errors: ErrorObject[],
  keys: readonly string[],
  schema: TSchema,
): { config: unknown; originalPath: (p: (string | number)[]) => (string | number)[] } | undefined {
  const removed = new Map<string, { path: (string | number)[]; indexes: Set<number> }>();
  const toDefault = new Set<string>();
  const props = (schema as { properties?: Record<string, { default?: unknown }> }).properties ?? {};
  for (const e of errors) {
    const p = pointerToPath(e.instancePath);
    let cut = -1;
    for (let i = p.length - 1; i >= 1 && cut < 0; i--) if (typeof p[i] === 'number' && keys.includes(String(p[i - 1]))) cut = i;
    if (cut < 0) {
      // a list or map default would drop what other parts name (time intervals, receivers): only plain values
      const d = p.length === 1 ? props[String(p[0])]?.default : undefined;
      if (d === undefined || (typeof d === 'object' && d !== null)) return undefined;
      toDefault.add(String(p[0]));
      continue;
    }
    const list = p.slice(0, cut);
    const k = list.join('\u0000');
    if (!removed.has(k)) removed.set(k, { path: list, indexes: new Set() });
    removed.get(k)!.indexes.add(p[cut] as number);
  }
  const copy = structuredClone(config);
  for (const k of toDefault) delete (copy as Record<string, unknown>)[k];
  // inner lists first: removing from one never moves an item of a list around it
  for (const { path, indexes } of [...removed.values()].sort((a, b) => b.path.length - a.path.length)) {
    let holder: unknown = copy;
    for (const k of path.slice(0, -1)) holder = (holder as Record<string | number, unknown> | undefined)?.[k];
    const last = path[path.length - 1]!;
    const list = (holder as Record<string | number, unknown> | undefined)?.[last];
    if (Array.isArray(list)) (holder as Record<string | number, unknown>)[last] = list.filter((_, i) => !indexes.has(i));
  }
  const originalPath = (p: (string | number)[]): (string | number)[] => {
    const out: (string | number)[] = [];
    for (const seg of p) {
      const gone = typeof seg === 'number' ? removed.get(out.join('\u0000'))?.indexes : undefined;
      if (!gone) {
        out.push(seg);
        continue;
      }
      // the seg-th item kept is the original item after seg + (the removed ones before it)
      let original = -1;
      for (let kept = -1; kept < (seg as number); ) if (!gone.has(++original)) kept++;
      out.push(original);
    }
    return out;
  };
  return { config: copy, originalPath };
}

/** One problem found in a component config, with the path below that config. */
export interface SchemaIssue {
  path: (string | number)[];
  message: string;
}

/**
 * Turns Ajv's errors into issues: one per place, alternatives of a union merged into "expected one of". With the
 * schema that was validated against, a bound's message names the type the schema wants ("expected an integer >=
 * 1" rather than "a number").
 */
export function describeAjvErrors(errors: ErrorObject[], schema?: TSchema, data?: unknown): SchemaIssue[] {
  const consts = new Map<string, unknown[]>();
  for (const e of errors) if (e.keyword === 'const') consts.set(e.instancePath, [...(consts.get(e.instancePath) ?? []), (e.params as { allowedValue: unknown }).allowedValue]);
  // the types the branches of a union wanted at each place (merged into one "expected string or array")
  const types = new Map<string, string[]>();
  for (const e of errors) if (e.keyword === 'type') types.set(e.instancePath, [...new Set([...(types.get(e.instancePath) ?? []), ...String((e.params as { type: unknown }).type).split(',')])]);
  const out: SchemaIssue[] = [];
  const done = new Set<string>();
  const push = (issue: SchemaIssue) => {
    const key = `${issue.path.join('\u0000')}\u0001${issue.message}`;
    if (!done.has(key)) out.push(issue);
    done.add(key);
  };
  for (const e of errors.filter(relevant)) {
    if (e.keyword === 'const' && consts.get(e.instancePath)!.length > 1) {
      const allowed = consts.get(e.instancePath)!;
      push({ path: pointerToPath(e.instancePath), message: `expected one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}` });
      continue;
    }
    if (e.keyword === 'type') {
      // a union's other branches: the value has the type of a branch that says more (a literal's "expected
      // one of", or a mistake further in), so "expected null" beside them is noise
      const saysMore = (o: ErrorObject) =>
        o.instancePath.startsWith(`${e.instancePath}/`) || (o.instancePath === e.instancePath && !['type', 'anyOf', 'oneOf'].includes(o.keyword));
      if (consts.has(e.instancePath) || errors.some(saysMore)) continue;
      const path = pointerToPath(e.instancePath);
      // a duration written as a bare number (`timeout: 5`): say what a duration looks like, not "expected string"
      const pattern = schema ? schemaHolding(schema, e)?.pattern : undefined;
      if (typeof pattern === 'string' && types.get(e.instancePath)!.join() === 'string' && typeof valueAt(data, path) === 'number') {
        push({ path, message: `${patternMessage(pattern)}${pattern.includes('ms|s|m|h|d') ? ' (a number needs its unit)' : ''}` });
        continue;
      }
      push({ path, message: `expected ${types.get(e.instancePath)!.join(' or ')}${yaml11Hint(types.get(e.instancePath)!, data, path)}` });
      continue;
    }
    push(describeAjvError(e, schema));
  }
  return out;
}

/** YAML 1.1's words for booleans, which YAML 1.2 (the `yaml` package, like the Collector's loader) reads as strings. */
const YAML11_BOOLEANS = /^(y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$/;

/**
 * ` ("yes" is a string in YAML 1.2: write true or false)` when a boolean was expected and the value at `path` of
 * `data` is one of YAML 1.1's boolean words; "" otherwise.
 */
function yaml11Hint(expected: string[], data: unknown, path: (string | number)[]): string {
  if (!expected.includes('boolean')) return '';
  const v = valueAt(data, path);
  return typeof v === 'string' && YAML11_BOOLEANS.test(v) ? ` (${JSON.stringify(v)} is a string in YAML 1.2: write true or false)` : '';
}

/** The value at key path `path` of `data`; undefined where the path leaves it. */
function valueAt(data: unknown, path: (string | number)[]): unknown {
  let v = data;
  for (const seg of path) v = v !== null && typeof v === 'object' ? (v as Record<string | number, unknown>)[seg] : undefined;
  return v;
}

/**
 * The schema object that holds keyword `e.keyword` of an Ajv error: `e.schemaPath` (`#/properties/a/minimum`, an
 * RFC 6901 pointer into `root`) without its last segment. Undefined when the path leaves `root` (a `$ref`).
 */
function schemaHolding(root: TSchema, e: ErrorObject): Record<string, unknown> | undefined {
  if (!e.schemaPath.startsWith('#/')) return undefined;
  let at: unknown = root;
  for (const seg of pointerToPath(e.schemaPath.slice(1)).slice(0, -1)) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<string | number, unknown>)[seg];
  }
  return at !== null && typeof at === 'object' ? (at as Record<string, unknown>) : undefined;
}

/** Drops the noise Ajv adds around `anyOf`/`oneOf` ("must match a schema in anyOf") when a branch said more. */
function relevant(e: ErrorObject, _i: number, all: ErrorObject[]): boolean {
  if (e.keyword === 'anyOf' || e.keyword === 'oneOf') {
    return !all.some((o) => o !== e && o.instancePath.startsWith(e.instancePath) && o.keyword !== 'anyOf' && o.keyword !== 'oneOf');
  }
  return true;
}

/**
 * An RFC 6901 JSON Pointer (`/a/0/b`, `~1` and `~0` unescaped) as a key path (`['a', 0, 'b']`); all-digit segments become numbers.
 */
export function pointerToPath(pointer: string): (string | number)[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((p) => (/^\d+$/.test(p) ? Number(p) : p));
}

/**
 * One Ajv error as a {@link SchemaIssue}: its path below the config and a plain-words message (`unknown key "x"`,
 * `missing required key "y"`, `expected one of ...`). `schema` (the one validated against) lets a bound's message
 * name the type: `expected an integer >= 1`.
 */
export function describeAjvError(e: ErrorObject, schema?: TSchema): SchemaIssue {
  const path = pointerToPath(e.instancePath);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties':
      return { path: [...path, String(p.additionalProperty)], message: `unknown key "${String(p.additionalProperty)}"` };
    case 'required':
      return { path, message: `missing required key "${String(p.missingProperty)}"` };
    case 'type':
      return { path, message: `expected ${String(p.type)}` };
    case 'enum':
      return { path, message: `expected one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}` };
    case 'const':
      return { path, message: `expected ${JSON.stringify(p.allowedValue)}` };
    case 'pattern':
      return { path, message: patternMessage(String(p.pattern)) };
    case 'minItems':
      return { path, message: `expected at least ${String(p.limit)} item${p.limit === 1 ? '' : 's'}` };
    case 'minProperties':
      return { path, message: `expected at least ${String(p.limit)} entr${p.limit === 1 ? 'y' : 'ies'}` };
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return {
        path,
        message: `expected ${schema && schemaHolding(schema, e)?.type === 'integer' ? 'an integer' : 'a number'} ${String(p.comparison)} ${String(p.limit)}`,
      };
    default:
      return { path, message: e.message ?? e.keyword };
  }
}

function patternMessage(pattern: string): string {
  if (pattern.includes('ms|s|m|h|d')) return 'expected a duration such as "500ms", "10s", "5m", "4h", "1d"';
  if (pattern.includes(':')) return 'expected host:port with a port from 0 to 65535';
  return `expected a string matching ${pattern}`;
}
