/** The one Ajv instance: component schemas are compiled once, with defaults applied and types checked. */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { TSchema } from '@sinclair/typebox';
import type { Factory } from '../component.ts';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/**
 * The Ajv instance every config schema is compiled with: all errors reported, `default`s filled in
 * (`useDefaults`), no type coercion, with ajv-formats.
 */
export const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false, coerceTypes: false });
addFormats(ajv);

const compiled = new WeakMap<TSchema, ValidateFunction>();

/** The Ajv validator of a TypeBox schema, compiled once per schema object and cached. */
export function compileSchema(schema: TSchema): ValidateFunction {
  let v = compiled.get(schema);
  if (!v) {
    v = ajv.compile(schema);
    compiled.set(schema, v);
  }
  return v;
}

/** One problem found in a component config, with the path below that config. */
export interface SchemaIssue {
  path: (string | number)[];
  message: string;
}

/** Validates (and fills defaults into) a component config in place; returns every issue found. */
export function validateComponentConfig(factory: Factory, config: unknown): SchemaIssue[] {
  const validate = compileSchema(factory.schema);
  if (validate(config)) {
    return factory.validate ? factory.validate(config as never) : [];
  }
  return describeAjvErrors(validate.errors ?? []);
}

/** Turns Ajv's errors into issues: one per place, alternatives of a union merged into "expected one of". */
export function describeAjvErrors(errors: ErrorObject[]): SchemaIssue[] {
  const consts = new Map<string, unknown[]>();
  for (const e of errors) if (e.keyword === 'const') consts.set(e.instancePath, [...(consts.get(e.instancePath) ?? []), (e.params as { allowedValue: unknown }).allowedValue]);
  const out: SchemaIssue[] = [];
  const done = new Set<string>();
  for (const e of errors.filter(relevant)) {
    if (e.keyword === 'const' && consts.get(e.instancePath)!.length > 1) {
      if (done.has(e.instancePath)) continue;
      done.add(e.instancePath);
      const allowed = consts.get(e.instancePath)!;
      out.push({ path: pointerToPath(e.instancePath), message: `expected one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}` });
      continue;
    }
    out.push(describeAjvError(e));
  }
  return out;
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
 * `missing required key "y"`, `expected one of ...`).
 */
export function describeAjvError(e: ErrorObject): SchemaIssue {
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
      return { path, message: `expected a number ${String(p.comparison)} ${String(p.limit)}` };
    default:
      return { path, message: e.message ?? e.keyword };
  }
}

function patternMessage(pattern: string): string {
  if (pattern.includes('ms|s|m|h|d')) return 'expected a duration such as "500ms", "10s", "5m", "4h", "1d"';
  if (pattern.includes(':')) return 'expected host:port';
  return `expected a string matching ${pattern}`;
}
