/**
 * Loads and validates vigil's config: one or more YAML files merged in order (later files override
 * earlier ones, maps merged key by key as in the Collector), YAML merge keys (`<<: *anchor`) applied,
 * `${env:NAME}` / `${env:NAME:-default}` / `$$` expanded (a whole-value reference is typed as YAML types
 * it, except that a field taking a string keeps the expanded text), every component config checked against its factory's JSON Schema (defaults applied, unknown
 * keys rejected), then the cross-field rules. Every problem is reported at once with `file:line:col`, the
 * key path and what was expected; the validated config is frozen.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import YAML, { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, type Node as YamlNode, type Document, type Scalar } from 'yaml';
import { type ComponentKind, type ExporterCapabilities, type Factory, exporterCapabilities } from '../component.ts';
import { SIGNALS, type SignalName } from '../model.ts';
import type { ComponentRegistry } from '../registry.ts';
import { SelfExportSchemas } from '../self-export.ts';
import { splitHostPort } from '../endpoint.ts';
import { compileSchema, describeAjvErrors, validateComponentConfig } from './ajv.ts';
import { Duration, Endpoint, Obj } from './types.ts';
import { ErrorCodes } from '../errors.ts';
import { describeReadError, findInvalidUtf8, readTextFile } from '../text-file.ts';

/** The config codes of the catalogue (src/errors.ts), by short name. */
export const ConfigErrorCodes = {
  READ: ErrorCodes.CONFIG_READ,
  YAML: ErrorCodes.CONFIG_YAML,
  ENV: ErrorCodes.CONFIG_ENV,
  DUPLICATE_KEY: ErrorCodes.CONFIG_DUPLICATE_KEY,
  SCHEMA: ErrorCodes.CONFIG_SCHEMA,
  COMPONENT: ErrorCodes.CONFIG_COMPONENT,
  PIPELINE: ErrorCodes.CONFIG_PIPELINE,
  ENDPOINT: ErrorCodes.CONFIG_ENDPOINT,
} as const;
/** The error catalogue codes a {@link ConfigError} may carry (the values of `ConfigErrorCodes`). */
export type ConfigErrorCode = (typeof ConfigErrorCodes)[keyof typeof ConfigErrorCodes];

/** One problem in the config, located in the user's file. */
export interface ConfigError {
  code: ConfigErrorCode;
  file: string;
  /** 1-based; absent for a problem of the file as a whole (it does not exist, cannot be read). */
  line?: number;
  /** 1-based, in characters; absent when `line` is. */
  col?: number;
  /** Key path in the merged config, e.g. `receivers.otlp.protocols.grpc.endpoint` or `service.pipelines.main.exporters[1]`. */
  path: string;
  message: string;
}

const PipelineSchema = Type.Object(
  {
    receivers: Type.Array(Type.String(), { minItems: 1 }),
    processors: Type.Array(Type.String(), { default: [] }),
    exporters: Type.Array(Type.String(), { minItems: 1 }),
  },
  { additionalProperties: false },
);

const ServiceSchema = Obj({
  state_dir: Type.String({ default: './data', minLength: 1 }),
  shutdown_timeout: Duration('15s', 'how long SIGTERM waits for in-flight data to drain'),
  telemetry: Obj({
    logs: Obj({
      level: Type.Union([Type.Literal('debug'), Type.Literal('info'), Type.Literal('warn'), Type.Literal('error')], { default: 'info' }),
      processors: SelfExportSchemas.logsProcessors,
    }),
    resource: SelfExportSchemas.resource,
    metrics: SelfExportSchemas.metrics,
    traces: SelfExportSchemas.traces,
    endpoint: Endpoint('localhost:8888'),
    auth: Obj(
      {
        bearer_token: Type.String({
          default: '',
          description: 'when set, every request but /healthz and /readyz (probes) must send Authorization: Bearer <token> (the api token is accepted too)',
        }),
      },
      { description: 'read access to /metrics, the API and the status page: set it wherever the endpoint binds beyond loopback' },
    ),
    api: Obj(
      {
        bearer_token: Type.String({ default: '', description: 'token that writes (silences) must send as Authorization: Bearer <token>; empty: none' }),
        bearer_token_file: Type.String({ default: '', description: 'file holding the token (read at start and reload; whitespace trimmed)' }),
        unauthenticated_writes: Type.Boolean({ default: false, description: 'allow writes without a token (only where the endpoint is private)' }),
      },
      { description: 'the Alertmanager-compatible API and the status page on the telemetry endpoint' },
    ),
  }),
  pipelines: Type.Record(Type.String(), PipelineSchema, { minProperties: 1 }),
});

/** The config file's top level (receivers, processors, exporters, service); each component's own schema checks its section. */
export const TopSchema = Type.Object(
  {
    receivers: Type.Record(Type.String(), Type.Unknown(), { default: {} }),
    processors: Type.Record(Type.String(), Type.Unknown(), { default: {} }),
    exporters: Type.Record(Type.String(), Type.Unknown(), { default: {} }),
    service: ServiceSchema,
  },
  { additionalProperties: false, required: ['service'] },
);

/** One entry of `service.pipelines`: its receivers, processors and exporters by component ID. */
export type PipelineConfig = Static<typeof PipelineSchema>;
/** The validated `service:` section of the config (pipelines, telemetry, state_dir...), defaults applied. */
export type ServiceSection = Static<typeof ServiceSchema>;

/** The validated, merged, frozen config. Component configs carry their defaults. */
export interface ServiceConfig {
  receivers: Readonly<Record<string, unknown>>;
  processors: Readonly<Record<string, unknown>>;
  exporters: Readonly<Record<string, unknown>>;
  service: ServiceSection & { state_dir: string };
  /** The files it was read from, in order. */
  files: readonly string[];
}

/** The outcome of loading a config: every error found (empty on success) and, when there are none, the config. */
export interface LoadResult {
  errors: ConfigError[];
  config?: ServiceConfig;
}

const SECTIONS: Record<'receivers' | 'processors' | 'exporters', ComponentKind> = {
  receivers: 'receiver',
  processors: 'processor',
  exporters: 'exporter',
};

const ID_PATTERN = /^([a-z][a-z0-9_]*)(?:\/([^\s/]+))?$/;
const PIPELINE_NAME = /^[^\s/]+(?:\/[^\s/]+)?$/;

type Pos = { file: string; line: number; col: number };

/** Formats an error as `file:line:col: path: message` (`file: message` for a problem of the whole file). */
export function formatConfigError(e: ConfigError): string {
  return `${e.file}${e.line === undefined ? '' : `:${e.line}:${e.col ?? 1}`}: ${e.path ? `${e.path}: ` : ''}${e.message}`;
}

/** The signal a pipeline is restricted to by its name (`traces`, `metrics/x`), or undefined for all. */
export function pipelineSignal(name: string): SignalName | undefined {
  const type = name.split('/')[0] as SignalName;
  return (SIGNALS as readonly string[]).includes(type) ? type : undefined;
}

/** Parses a component ID into its type and name. */
export function parseComponentId(id: string): { type: string; name: string | undefined } | undefined {
  const m = ID_PATTERN.exec(id);
  return m ? { type: m[1]!, name: m[2] } : undefined;
}

/**
 * A key path as text: `['service', 'pipelines', 'main', 'exporters', 1]` -> `service.pipelines.main.exporters[1]`.
 */
export function pathToString(p: readonly (string | number)[]): string {
  let s = '';
  for (const k of p) s += typeof k === 'number' ? `[${k}]` : s === '' ? k : `.${k}`;
  return s;
}

const pathKey = (p: readonly (string | number)[]): string => p.join('\u0000');

/** A whole-value env reference that YAML typed as a number, boolean or null, with the text it expanded to. */
interface EnvText {
  path: (string | number)[];
  text: string;
  typed: unknown;
}

/** What reading the files gives: the merged tree and where each of its parts came from. */
interface ReadFiles {
  merged: Record<string, unknown>;
  positions: Map<string, Pos>;
  keyPositions: Map<string, Pos>;
  /** By path key: the expanded env values that were typed (see {@link keepEnvText}). */
  envTexts: Map<string, EnvText>;
  /** By path key: the source of a value that was a whole reference in quotes (`"${env:PORT}"`), which stays text. */
  quotedRefs: Map<string, string>;
}

type Report = (p: (string | number)[], message: string, code?: ConfigErrorCode) => void;

/** The largest config file read: more (a device such as /dev/zero, a wrong file) is refused, not read whole. */
export const MAX_CONFIG_BYTES = 8 * 1024 * 1024;
/** The deepest nesting of mappings and lists a config file may have (vigil's own keys go about 8 deep). */
export const MAX_CONFIG_DEPTH = 64;

/** Reads, merges, expands and validates the config files. Never throws for a bad config: see `errors`. */
export async function loadConfig(paths: string[], registry: ComponentRegistry, env: NodeJS.ProcessEnv = process.env): Promise<LoadResult> {
  if (paths.length === 0) {
    return { errors: [{ code: ConfigErrorCodes.READ, file: '<args>', path: '', message: 'no --config file given' }] };
  }
  const errors: ConfigError[] = [];
  const read = await readFiles(paths, env, errors);
  if (errors.length) return { errors: sortErrors(errors) };
  const { merged, positions, keyPositions, envTexts, quotedRefs } = read;
  // errors found by path now get their positions (env errors already carry theirs)
  const locate = (p: (string | number)[], atKey: boolean): Pos => {
    const k = atKey ? keyPositions.get(pathKey(p)) : undefined;
    if (k) return k;
    for (let n = p.length; n >= 0; n--) {
      const hit = positions.get(pathKey(p.slice(0, n)));
      if (hit) return hit;
    }
    return { file: paths[paths.length - 1]!, line: 1, col: 1 };
  };
  const report: Report = (p, message, code = ConfigErrorCodes.SCHEMA) =>
    errors.push({ code, ...locate(p, message.startsWith('unknown key')), path: pathToString(p), message: message + quotedReferenceHint(quotedRefs.get(pathKey(p)), message) });

  keepEnvText(merged, TopSchema, [], envTexts);
  if (!checkTop(merged, report)) return { errors: sortErrors(errors) };
  const cfg = merged as Static<typeof TopSchema>;
  const factories = await checkComponents(cfg, registry, envTexts, report);
  const used = checkPipelines(cfg, factories, report);
  checkEndpoints(cfg, factories, used, report);
  checkApi(cfg, report);
  checkInputFiles(cfg, report);
  // only on an otherwise valid config: a component's checkWiring may assume its own config is valid
  if (!errors.length) checkWiring(cfg, factories, report);
  if (errors.length) return { errors: sortErrors(errors) };
  const config: ServiceConfig = {
    receivers: cfg.receivers,
    processors: cfg.processors,
    exporters: cfg.exporters,
    service: { ...cfg.service, state_dir: path.resolve(cfg.service.state_dir) },
    files: paths,
  };
  return { errors: [], config: deepFreeze(config) };
}

/**
 * The hint a YAML syntax error at `offset` gets when it is the `{` of an unquoted `${...}` reference: inside
 * a flow mapping or list (`auth: {bearer_token: ${env:TOKEN}}`) YAML reads that `{` as structure, so the
 * reference has to be quoted there. Empty otherwise.
 */
export function unquotedReferenceHint(text: string, offset: number): string {
  if (text[offset] !== '{' || text[offset - 1] !== '$') return '';
  const end = text.indexOf('}', offset);
  const ref = end < 0 ? '${...}' : text.slice(offset - 1, end + 1);
  return ` (inside {...} or [...], quote the reference: "${ref}")`;
}

/**
 * The hint a schema error gets when the value was a whole reference written in quotes (`"${env:PORT}"`) and
 * the field wanted a number or a boolean: a quoted reference stays text (only an unquoted one is typed as
 * YAML types it), which "expected integer" alone does not tell. Empty otherwise.
 */
function quotedReferenceHint(source: string | undefined, message: string): string {
  if (source === undefined || !/^expected (an? )?(integer|number|boolean)/.test(message)) return '';
  return ` (a reference in quotes stays text: write ${source} without quotes, in block style, to have it typed)`;
}

/**
 * Reads every file: YAML syntax, `${env:...}` expansion, duplicate keys, merge keys (`<<: *common`,
 * applied as the Collector's and Prometheus's loaders do: explicit keys win over merged ones), then
 * merges the files in order. Problems go to `errors`.
 */
async function readFiles(paths: string[], env: NodeJS.ProcessEnv, errors: ConfigError[]): Promise<ReadFiles> {
  let merged: Record<string, unknown> = {};
  const positions = new Map<string, Pos>();
  const keyPositions = new Map<string, Pos>();
  const envTexts = new Map<string, EnvText>();
  const quotedRefs = new Map<string, string>();
  for (const file of paths) {
    const read = await readTextFile(file, MAX_CONFIG_BYTES);
    if (!read.ok) {
      const at = read.position ? { line: read.position.line, col: read.position.col } : {};
      errors.push({ code: ConfigErrorCodes.READ, file, ...at, path: '', message: read.position ? read.message : `the config file ${read.message}` });
      continue;
    }
    const text = read.text;
    const lc = new LineCounter();
    const { doc, extra } = firstDocument(text, lc);
    if (extra !== undefined) {
      // the Collector (yaml.v3) would read the first document and drop the others without a word
      errors.push({ code: ConfigErrorCodes.YAML, file, ...lc.linePos(extra), path: '', message: 'YAML: a second document ("---"): a config file holds one document; give the other as its own --config' });
      continue;
    }
    for (const [i, e] of doc.errors.entries()) {
      if (i > 0 && /Maximum call stack size exceeded/.test(e.message)) continue; // said once per file
      // once the parser has lost its place it reports every later token "in YAML stream": one mistake
      // became dozens of lines, the real one hidden among them
      if (i > 0 && / token in YAML stream/.test(e.message)) continue;
      const lp = e.linePos?.[0] ?? lc.linePos(e.pos[0]);
      // the yaml package catches its own stack overflow on a very deep document and reports it as is
      const message = /Maximum call stack size exceeded/.test(e.message)
        ? `nested too deeply to read (a config has at most ${MAX_CONFIG_DEPTH} levels of mappings and lists)`
        : e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '') + unquotedReferenceHint(text, e.pos[0]);
      errors.push({ code: ConfigErrorCodes.YAML, file, line: lp.line, col: lp.col, path: '', message: `YAML: ${message}` });
    }
    // a tag the YAML core schema does not know (`!Ref x`, `!!float 1`) would be dropped or read as text silently
    for (const w of doc.warnings) {
      const lp = w.linePos?.[0] ?? lc.linePos(w.pos[0]);
      const first = w.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      const tag = /^Unresolved tag: (.*)$/.exec(first)?.[1]?.replace(/^tag:yaml\.org,2002:/, '!!');
      const message =
        tag === undefined
          ? first
          : tag.startsWith('!!')
            ? `the value does not read as ${tag}`
            : `unknown tag ${tag}: vigil reads plain YAML values (strings, numbers, booleans, lists and mappings)`;
      errors.push({ code: ConfigErrorCodes.YAML, file, line: lp.line, col: lp.col, path: '', message: `YAML: ${message}` });
    }
    if (doc.errors.length || doc.warnings.length) continue;
    const at = (offset: number): Pos => ({ file, ...lc.linePos(offset) });
    // Aliases are counted before anything follows them: a "billion laughs" file (anchors aliasing
    // anchors) would otherwise take exponential time and memory in every walk below.
    const structureError = checkYamlStructure(doc);
    if (structureError) {
      errors.push({ code: ConfigErrorCodes.YAML, ...at(structureError.offset), path: pathToString(structureError.path), message: `YAML: ${structureError.message}` });
      continue;
    }
    const { typed: typedEnv, quoted } = expandEnv(doc, env, (node, keyPath, message) => {
      const p = at(node.range?.[0] ?? 0);
      errors.push({ code: ConfigErrorCodes.ENV, ...p, path: pathToString(keyPath), message });
    });
    const fileTexts: EnvText[] = [];
    const walk: PositionWalk = {
      doc,
      at,
      out: positions,
      keysOut: keyPositions,
      onDuplicate: (pos, p, key) =>
        errors.push({ code: ConfigErrorCodes.DUPLICATE_KEY, ...pos, path: pathToString(p), message: `"${key}" is defined twice (IDs and keys must be unique)` }),
      onScalar: (node, p) => {
        const t = typedEnv.get(node);
        if (t !== undefined) fileTexts.push({ path: p, text: t, typed: node.value });
        // a later file that sets a value replaces what an earlier file's env reference gave
        else envTexts.delete(pathKey(p));
        const q = quoted.get(node);
        if (q !== undefined) quotedRefs.set(pathKey(p), q);
        else quotedRefs.delete(pathKey(p));
      },
      typedEnv,
      depth: 0,
    };
    recordPositions(doc.contents, [], walk);
    for (const t of fileTexts) envTexts.set(pathKey(t.path), t);
    if (errors.length) continue;
    // aliases are bounded by checkAliases, which counts the expansion itself
    const js = doc.toJS({ maxAliasCount: -1 }) as unknown;
    if (js === null || js === undefined) continue;
    if (typeof js !== 'object' || Array.isArray(js)) {
      errors.push({ code: ConfigErrorCodes.SCHEMA, ...at(0), path: '', message: 'expected a mapping with receivers, processors, exporters and service' });
      continue;
    }
    merged = deepMerge(merged, js as Record<string, unknown>);
  }
  return { merged, positions, keyPositions, envTexts, quotedRefs };
}

/**
 * The first YAML document of a config file, and the offset of a second one that holds anything (undefined
 * when there is none). A file may end in "---" or an empty document (files joined by tools often do); a
 * second document with content is the caller's error to report.
 */
function firstDocument(text: string, lineCounter: LineCounter): { doc: Document; extra?: number } {
  const opts = { lineCounter, prettyErrors: true, uniqueKeys: false, merge: true } as const;
  const all = YAML.parseAllDocuments(text, opts);
  const docs = Array.isArray(all) ? all : [];
  const doc = docs[0] ?? YAML.parseDocument(text, opts);
  const empty = (d: Document) =>
    !d.errors.length && (d.contents === null || (isScalar(d.contents) && d.contents.type === 'PLAIN' && d.contents.value === null));
  const extra = docs.slice(1).find((d) => !empty(d));
  return extra ? { doc, extra: extra.range[0] } : { doc };
}

/**
 * Where a field's schema takes a string, an expanded env value keeps the text it expanded to
 * (`X-Token: ${env:TOKEN}` with TOKEN=012345 stays "012345"); where it takes only a number or a boolean,
 * it stays typed (`port: ${env:PORT}` is a number); where it takes anything, it stays typed too. This is
 * the OpenTelemetry Collector's rule (its issue 10937). `schema` describes `root`, found at `prefix`.
 */
function keepEnvText(root: unknown, schema: TSchema, prefix: (string | number)[], envTexts: Map<string, EnvText>): void {
  for (const t of envTexts.values()) {
    if (t.path.length <= prefix.length || !prefix.every((k, i) => t.path[i] === k)) continue;
    const rest = t.path.slice(prefix.length);
    if (!acceptsString(schemasAt(schema, rest))) continue;
    let holder: unknown = root;
    for (const k of rest.slice(0, -1)) holder = isPlainObject(holder) || Array.isArray(holder) ? (holder as Record<string | number, unknown>)[k] : undefined;
    const last = rest[rest.length - 1]!;
    if ((isPlainObject(holder) || Array.isArray(holder)) && Object.is((holder as Record<string | number, unknown>)[last], t.typed)) {
      (holder as Record<string | number, unknown>)[last] = t.text;
    }
  }
}

/** The schemas that may describe the value at `p` below `schema` (every branch of a union). */
function schemasAt(schema: TSchema, p: readonly (string | number)[]): Record<string, unknown>[] {
  let cur: Record<string, unknown>[] = [schema as Record<string, unknown>];
  for (const k of p) {
    const next: Record<string, unknown>[] = [];
    const visit = (s: Record<string, unknown>) => {
      for (const alt of [...((s.anyOf as Record<string, unknown>[]) ?? []), ...((s.oneOf as Record<string, unknown>[]) ?? [])]) visit(alt);
      if (typeof k === 'number') {
        if (isPlainObject(s.items)) next.push(s.items as Record<string, unknown>);
        return;
      }
      const props = s.properties as Record<string, Record<string, unknown>> | undefined;
      if (props && Object.hasOwn(props, k)) return void next.push(props[k]!);
      for (const [re, sub] of Object.entries((s.patternProperties as Record<string, Record<string, unknown>>) ?? {})) if (new RegExp(re).test(k)) next.push(sub);
      if (isPlainObject(s.additionalProperties)) next.push(s.additionalProperties as Record<string, unknown>);
    };
    cur.forEach(visit);
    cur = next;
  }
  return cur;
}

function acceptsString(schemas: Record<string, unknown>[]): boolean {
  return schemas.some(
    (s) =>
      s.type === 'string' ||
      (Array.isArray(s.type) && s.type.includes('string')) ||
      acceptsString([...((s.anyOf as Record<string, unknown>[]) ?? []), ...((s.oneOf as Record<string, unknown>[]) ?? [])]),
  );
}

/**
 * The top level and the service section. On errors, the structure is patched up so that the later
 * checks can still run and every mistake is reported at once; false when they cannot run.
 */
function checkTop(merged: Record<string, unknown>, report: Report): boolean {
  // said before the schema fills `service` with its defaults and asks for its pipelines instead
  if (Object.keys(merged).length === 0) {
    report([], 'the config is empty: expected receivers, processors, exporters and service (with its pipelines)');
    return false;
  }
  const noService = !Object.hasOwn(merged, 'service');
  if (noService) report([], 'missing required key "service" (with its pipelines)');
  const top = compileSchema(TopSchema);
  if (top(merged as unknown)) return true;
  for (const issue of describeAjvErrors(top.errors ?? [], TopSchema, merged)) {
    if (noService && issue.path.length === 1 && issue.path[0] === 'service') continue; // said above
    report(issue.path, issue.message);
  }
  const svc = merged['service'];
  if (!isPlainObject(svc) || !isPlainObject(svc['pipelines'])) return false;
  for (const section of ['receivers', 'processors', 'exporters']) if (!isPlainObject(merged[section])) merged[section] = {};
  const pipes = svc['pipelines'] as Record<string, unknown>;
  for (const [name, pipe] of Object.entries(pipes)) {
    if (!isPlainObject(pipe)) {
      delete pipes[name];
      continue;
    }
    for (const list of ['receivers', 'processors', 'exporters'])
      pipe[list] = Array.isArray(pipe[list]) ? (pipe[list] as unknown[]).filter((x) => typeof x === 'string') : [];
  }
  if (!isPlainObject(svc['telemetry']) || typeof (svc['telemetry'] as Record<string, unknown>)['endpoint'] !== 'string') svc['telemetry'] = { endpoint: ':0' };
  return true;
}

/** Component IDs, types, schemas and each factory's cross-field checks; returns the factory of each `kind:id`. */
async function checkComponents(cfg: Static<typeof TopSchema>, registry: ComponentRegistry, envTexts: Map<string, EnvText>, report: Report): Promise<Map<string, Factory>> {
  const factories = new Map<string, Factory>();
  for (const [section, kind] of Object.entries(SECTIONS) as [keyof typeof SECTIONS, ComponentKind][]) {
    const comps = cfg[section] as Record<string, unknown>;
    for (const id of Object.keys(comps)) {
      const parsed = parseComponentId(id);
      if (!parsed) {
        report([section, id], `invalid component ID "${id}": expected "type" or "type/name"`, ConfigErrorCodes.COMPONENT);
        continue;
      }
      let factory: Factory | undefined;
      try {
        factory = await registry.load(kind, parsed.type);
      } catch (err) {
        report([section, id], `${kind} type "${parsed.type}" failed to load: ${(err as Error).message}`, ConfigErrorCodes.COMPONENT);
        continue;
      }
      if (!factory) {
        report([section, id], `unknown ${kind} type "${parsed.type}" (known: ${registry.types(kind).join(', ')})`, ConfigErrorCodes.COMPONENT);
        continue;
      }
      factories.set(`${kind}:${id}`, factory);
      if (comps[id] === null || comps[id] === undefined) comps[id] = {};
      keepEnvText(comps[id], factory.schema, [section, id], envTexts);
      for (const issue of validateComponentConfig(factory, comps[id])) report([section, id, ...issue.path], issue.message);
    }
  }
  return factories;
}

/** Each pipeline's lists: defined, of the right kind, not twice, handling the pipeline's signal. Returns the IDs used. */
function checkPipelines(cfg: Static<typeof TopSchema>, factories: Map<string, Factory>, report: Report): Record<ComponentKind, Set<string>> {
  const used: Record<ComponentKind, Set<string>> = { receiver: new Set(), processor: new Set(), exporter: new Set() };
  for (const [name, pipe] of Object.entries(cfg.service.pipelines)) {
    // the Collector's pipeline IDs: a name, or `signal/name`; `logs/` or "" would name nothing (or restrict silently)
    if (!PIPELINE_NAME.test(name)) report(['service', 'pipelines', name], `invalid pipeline name ${JSON.stringify(name)}: expected "name" or "name/suffix" (e.g. main, traces, metrics/llm), without spaces`, ConfigErrorCodes.PIPELINE);
    const signal = pipelineSignal(name);
    for (const [list, kind] of [['receivers', 'receiver'], ['processors', 'processor'], ['exporters', 'exporter']] as const) {
      const seen = new Set<string>();
      pipe[list].forEach((id, i) => {
        const p = ['service', 'pipelines', name, list, i];
        if (seen.has(id)) return report(p, `${kind} "${id}" is listed twice in this pipeline`, ConfigErrorCodes.PIPELINE);
        seen.add(id);
        const section = `${kind}s` as keyof typeof SECTIONS;
        if (!(id in (cfg[section] as object))) {
          const other = (['receiver', 'processor', 'exporter'] as const).find((k) => k !== kind && id in (cfg[`${k}s`] as object));
          const message = other ? `"${id}" is ${article(other)} ${other}, not ${article(kind)} ${kind}` : `${kind} "${id}" is not defined in ${section}`;
          return report(p, message, ConfigErrorCodes.PIPELINE);
        }
        used[kind].add(id);
        const f = factories.get(`${kind}:${id}`);
        if (f && signal && kind === 'receiver' && !f.signals.includes(signal)) {
          report(p, `${kind} "${id}" does not handle ${signal} (it handles ${f.signals.join(', ')})`, ConfigErrorCodes.PIPELINE);
        }
      });
    }
    checkExportersReachable(name, pipe, signal, factories, report);
  }
  return used;
}

/** The API's token: given inline or from a file, not both. */
function checkApi(cfg: Static<typeof TopSchema>, report: Report): void {
  const api = (cfg.service.telemetry as { api?: { bearer_token?: string; bearer_token_file?: string } }).api;
  if (api?.bearer_token && api.bearer_token_file)
    report(['service', 'telemetry', 'api', 'bearer_token_file'], 'give bearer_token or bearer_token_file, not both', ConfigErrorCodes.SCHEMA);
}

/**
 * Every `*_file` key (TLS certificates and keys, CA bundles, token files) names a file vigil reads at start
 * and reload: one that is missing or unreadable is a config error here, at the key, rather than a start
 * that fails (or a reload refused) later.
 */
function checkInputFiles(cfg: Static<typeof TopSchema>, report: Report): void {
  const visit = (v: unknown, p: (string | number)[]): void => {
    if (Array.isArray(v)) return v.forEach((x, i) => visit(x, [...p, i]));
    if (!isPlainObject(v)) return;
    for (const [k, x] of Object.entries(v)) {
      if (k.endsWith('_file') && typeof x === 'string' && x !== '') {
        let bytes: Buffer;
        try {
          if (!fs.statSync(x).isFile()) throw Object.assign(new Error('not a regular file'), { code: 'EISDIR' });
          bytes = fs.readFileSync(x);
        } catch (err) {
          report([...p, k], `${x} ${describeReadError(err)}`, ConfigErrorCodes.READ);
          continue;
        }
        // every such file is text (PEM, a token): one that is not UTF-8 would be read with U+FFFD in it
        const bad = findInvalidUtf8(bytes);
        if (bad) report([...p, k], `${x}:${bad.line}:${bad.col}: ${bad.message}`, ConfigErrorCodes.READ);
      } else visit(x, [...p, k]);
    }
  };
  for (const section of ['receivers', 'processors', 'exporters', 'service'] as const) visit(cfg[section], [section]);
}

/** Wiring checks that need the whole config (a route naming an exporter that cannot receive its alerts). */
function checkWiring(cfg: Static<typeof TopSchema>, factories: Map<string, Factory>, report: Report): void {
  const caps: Record<string, ExporterCapabilities> = {};
  for (const id of Object.keys(cfg.exporters)) {
    const f = factories.get(`exporter:${id}`);
    if (f) caps[id] = exporterCapabilities(f, (cfg.exporters as Record<string, unknown>)[id]);
  }
  const componentIds = { receiver: Object.keys(cfg.receivers), processor: Object.keys(cfg.processors), exporter: Object.keys(cfg.exporters) };
  for (const [section, kind] of Object.entries(SECTIONS) as [keyof typeof SECTIONS, ComponentKind][]) {
    for (const [id, compConfig] of Object.entries(cfg[section] as Record<string, unknown>)) {
      const f = factories.get(`${kind}:${id}`);
      if (!f?.checkWiring) continue;
      for (const issue of f.checkWiring(compConfig as never, { id, componentIds, pipelines: cfg.service.pipelines, exporterCapabilities: caps }))
        report([section, id, ...issue.path], issue.message, ConfigErrorCodes.PIPELINE);
    }
  }
}

/** Endpoints bound twice (by components in pipelines, and the telemetry endpoint). */
function checkEndpoints(cfg: Static<typeof TopSchema>, factories: Map<string, Factory>, used: Record<ComponentKind, Set<string>>, report: Report): void {
  const binds: { endpoint: string; path: (string | number)[] }[] = [{ endpoint: cfg.service.telemetry.endpoint, path: ['service', 'telemetry', 'endpoint'] }];
  for (const [section, kind] of Object.entries(SECTIONS) as [keyof typeof SECTIONS, ComponentKind][]) {
    for (const id of used[kind]) {
      const f = factories.get(`${kind}:${id}`);
      if (!f?.endpoints) continue;
      let eps: string[] = [];
      try {
        eps = f.endpoints((cfg[section] as Record<string, unknown>)[id] as never);
      } catch {
        continue; // its schema errors are already reported
      }
      const compConfig = (cfg[section] as Record<string, unknown>)[id];
      for (const ep of eps) binds.push({ endpoint: ep, path: [section, id, ...(findValue(compConfig, ep) ?? [])] });
    }
  }
  for (let i = 0; i < binds.length; i++) {
    for (let j = 0; j < i; j++) {
      if (sameBind(binds[i]!.endpoint, binds[j]!.endpoint)) {
        report(binds[i]!.path, `endpoint ${binds[i]!.endpoint} is already used by ${pathToString(binds[j]!.path)}`, ConfigErrorCodes.ENDPOINT);
      }
    }
  }
}

/**
 * Refuses an exporter to which its pipeline can deliver nothing: none of the signals it handles comes in
 * through the pipeline's receivers (only the pipeline's own signal, when it is named after one) or is
 * derived by one of its processors (their declared `capabilities.derives`).
 */
function checkExportersReachable(
  name: string,
  pipe: { receivers: string[]; processors: string[]; exporters: string[] },
  signal: SignalName | undefined,
  factories: Map<string, Factory>,
  report: (p: (string | number)[], message: string, code?: ConfigErrorCode) => void,
): void {
  // a pipeline whose receivers or processors are already in error (none, not defined, of an unknown type)
  // says nothing more: what its exporters would get cannot be known, and "would receive nothing" misleads
  if (!pipe.receivers.length) return;
  if (pipe.receivers.some((id) => !factories.has(`receiver:${id}`)) || pipe.processors.some((id) => !factories.has(`processor:${id}`))) return;
  const intake = new Set<SignalName>();
  for (const id of pipe.receivers) for (const s of factories.get(`receiver:${id}`)?.signals ?? []) if (!signal || s === signal) intake.add(s);
  const derived = new Map<SignalName, string[]>();
  for (const id of pipe.processors) {
    for (const s of factories.get(`processor:${id}`)?.capabilities?.derives ?? []) derived.set(s, [...(derived.get(s) ?? []), id]);
  }
  pipe.exporters.forEach((id, i) => {
    const f = factories.get(`exporter:${id}`);
    if (!f || f.signals.some((s) => intake.has(s) || derived.has(s))) return;
    const carried = [
      ...[...intake].map((s) => `${s} (from its receivers)`),
      ...[...derived].map(([s, by]) => `${s} (derived by ${by.join(', ')})`),
    ];
    const wants = f.signals.join(' or ');
    const fix = f.signals.includes('alerts')
      ? `add an alerts processor to this pipeline's processors, or list "${id}" in a pipeline that has one`
      : `list "${id}" in a pipeline that carries ${wants}`;
    report(
      ['service', 'pipelines', name, 'exporters', i],
      `exporter "${id}" would receive nothing: it handles ${wants}, and pipeline "${name}" carries ${carried.join(', ') || 'nothing'}; ${fix}`,
      ConfigErrorCodes.PIPELINE,
    );
  });
}

function sameBind(a: string, b: string): boolean {
  let pa, pb;
  try {
    pa = splitHostPort(a);
    pb = splitHostPort(b);
  } catch {
    return false;
  }
  if (pa.port === 0 || pa.port !== pb.port) return false;
  const wild = (h: string | undefined) => h === undefined || h === '0.0.0.0' || h === '::';
  const norm = (h: string | undefined) => (h === 'localhost' || h === '::1' ? '127.0.0.1' : h);
  return wild(pa.host) || wild(pb.host) || norm(pa.host) === norm(pb.host);
}

function sortErrors(errors: ConfigError[]): ConfigError[] {
  return errors.sort((a, b) => (a.file === b.file ? (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0) : 0));
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Maps merge key by key; any other value (scalars, lists) from a later file replaces the earlier one. */
function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    out[k] = isPlainObject(v) && isPlainObject(out[k]) ? deepMerge(out[k] as Record<string, unknown>, v) : v;
  }
  return out;
}

function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v as object)) deepFreeze(x);
  }
  return v;
}

/**
 * How many nodes the document may hold once its aliases are expanded: ten times what it writes, plus
 * 100,000. Every walk over the config (positions, merging, schema checks) visits the expanded tree, so a
 * "billion laughs" file (anchors aliasing anchors, 9^9 nodes from 90 written) must be refused before
 * any of them; an anchor used a few hundred times is still fine (Go's yaml.v3, which the Collector and
 * Prometheus use, bounds the ratio of alias to plain nodes the same way: "excessive aliasing").
 */
function expandedSizeLimit(written: number): number {
  return written * 10 + 100_000;
}

/**
 * Undefined when every alias of the document has its anchor before it and the aliases stay within
 * {@link expandedSizeLimit}; else the first alias without an anchor (the yaml package throws a ReferenceError for
 * it when the document is made into values), or the alias that expands most, and why.
 */
function checkAliases(doc: Document): { offset: number; path: (string | number)[]; message: string } | undefined {
  const sizes = new Map<unknown, number>();
  let written = 0;
  let worst: { node: YamlNode; size: number } | undefined;
  let unresolved: (YamlNode & { source: string }) | undefined;
  // the expanded size of each node, memoized so that the count itself is linear in the written document
  const size = (node: unknown): number => {
    if (node === null || typeof node !== 'object') return 0;
    const known = sizes.get(node);
    if (known !== undefined) return known;
    sizes.set(node, 1); // an alias inside the node it refers to (a recursive structure) counts once
    let n = 1;
    if (isAlias(node)) {
      const target = node.resolve(doc);
      if (target === undefined) unresolved ??= node;
      n = size(target);
      if (!worst || n > worst.size) worst = { node, size: n };
    } else {
      written++;
      if (isMap(node) || isSeq(node)) for (const item of node.items) n += size(item);
      else if (isPair(node)) n = size(node.key) + size(node.value);
    }
    sizes.set(node, n);
    return n;
  };
  const total = size(doc.contents);
  if (unresolved) {
    return {
      offset: unresolved.range?.[0] ?? 0,
      path: aliasPath(doc, unresolved),
      message: `the alias *${unresolved.source} has no anchor &${unresolved.source} before it (an alias repeats a node anchored earlier in the file)`,
    };
  }
  if (total <= expandedSizeLimit(written) || !worst) return undefined;
  const bomb = worst.node as YamlNode & { source: string };
  return {
    offset: bomb.range?.[0] ?? 0,
    path: aliasPath(doc, bomb),
    message:
      `aliases expand the document to ${total.toLocaleString('en-US')} nodes from ${written.toLocaleString('en-US')} written ` +
      `(at most ${expandedSizeLimit(written).toLocaleString('en-US')}); the alias *${bomb.source} alone expands to ${worst.size.toLocaleString('en-US')}: ` +
      'a "billion laughs" structure of anchors aliasing anchors? Write the values out',
  };
}

/**
 * The first problem of a parsed YAML document that the yaml package does not report as an error, with its
 * offset and key path: an alias with no anchor before it, aliases that expand past {@link expandedSizeLimit}
 * (a "billion laughs"), or a mapping or list used as a key; undefined when there is none. For every YAML file a
 * user writes (configs, `vigil test` files), before anything walks or converts the document.
 */
export function checkYamlStructure(doc: Document): { offset: number; path: (string | number)[]; message: string } | undefined {
  return checkDepth(doc) ?? checkAliases(doc) ?? checkKeys(doc);
}

/**
 * Undefined when no mapping or list of the document is nested deeper than {@link MAX_CONFIG_DEPTH}; else the
 * first one that is, with its place. Every walk over the config recurses, so depth is bounded before any.
 */
function checkDepth(doc: Document): { offset: number; path: (string | number)[]; message: string } | undefined {
  const stack: { node: unknown; depth: number; path: (string | number)[] }[] = [{ node: doc.contents, depth: 0, path: [] }];
  while (stack.length) {
    const { node, depth, path: p } = stack.pop()!;
    if (!isMap(node) && !isSeq(node)) continue;
    if (depth >= MAX_CONFIG_DEPTH) {
      return { offset: node.range?.[0] ?? 0, path: p, message: `nested deeper than ${MAX_CONFIG_DEPTH} levels of mappings and lists` };
    }
    node.items.forEach((item, i) => {
      if (isPair(item)) stack.push({ node: item.value, depth: depth + 1, path: [...p, isScalar(item.key) ? String(item.key.value) : String(i)] });
      else stack.push({ node: item, depth: depth + 1, path: [...p, i] });
    });
  }
  return undefined;
}

/**
 * Undefined when every mapping key of the document is a plain value; else the first key that is a mapping or
 * a sequence (`? [a, b]: x`, `{a: 1}: x`), which a config has no use for (the yaml package would turn it into
 * text such as "{ a: 1 }" with a process warning), with its place.
 */
function checkKeys(doc: Document): { offset: number; path: (string | number)[]; message: string } | undefined {
  let found: { offset: number; path: (string | number)[]; message: string } | undefined;
  YAML.visit(doc, {
    Pair(_key, pair, ancestors) {
      if (!isMap(pair.key) && !isSeq(pair.key)) return undefined;
      found = { offset: pair.key.range?.[0] ?? 0, path: pathOf(ancestors, pair), message: `a key must be a plain value, not a ${isMap(pair.key) ? 'mapping' : 'list'}` };
      return YAML.visit.BREAK;
    },
  });
  return found;
}

/** The key path of alias node `alias` in `doc` (mapping keys and sequence indexes). */
function aliasPath(doc: Document, alias: YamlNode): (string | number)[] {
  let at: (string | number)[] = [];
  YAML.visit(doc, {
    Alias(_key, node, ancestors) {
      if (node !== alias) return undefined;
      at = pathOf(ancestors, node);
      return YAML.visit.BREAK;
    },
  });
  return at;
}

/** The key path (mapping keys, sequence indexes) of `node`, from the ancestors YAML.visit gives it. */
function pathOf(ancestors: readonly unknown[], node: unknown): (string | number)[] {
  const at: (string | number)[] = [];
  for (let i = 0; i < ancestors.length; i++) {
    const a = ancestors[i];
    const child = ancestors[i + 1] ?? node;
    if (isPair(a) && isScalar(a.key)) at.push(String(a.key.value));
    else if (isSeq(a)) at.push(a.items.indexOf(child as never));
  }
  return at;
}

interface PositionWalk {
  doc: Document;
  at: (offset: number) => Pos;
  out: Map<string, Pos>;
  keysOut: Map<string, Pos>;
  onDuplicate: (pos: Pos, path: (string | number)[], key: string) => void;
  /** Called for every scalar value with its key path. */
  onScalar: (node: Scalar, path: (string | number)[]) => void;
  /** The scalars an env reference gave a typed value (a null among them is still written where the reference is). */
  typedEnv: ReadonlyMap<Scalar, string>;
  /** Alias nesting (bounded: an alias may point at a node that holds it). */
  depth: number;
}

/** A merge key (`<<`) pair, as the yaml package marks it with `merge: true`. */
function isMergeKey(key: unknown): boolean {
  return isScalar(key) && (typeof key.value === 'symbol' || (key.type === 'PLAIN' && key.value === '<<'));
}

/**
 * Records, for every key path, where its value (or its key, for a null value) starts. Aliases are
 * followed, and the keys a merge key brings in are recorded where the anchored mapping wrote them.
 */
function recordPositions(node: unknown, p: (string | number)[], w: PositionWalk): void {
  if (isAlias(node)) {
    if (w.depth > 20) return;
    w.depth++;
    recordPositions(node.resolve(w.doc), p, w);
    w.depth--;
    return;
  }
  if (isMap(node)) {
    const seen = new Set<string>();
    const merges: unknown[] = [];
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      if (isMergeKey(pair.key)) {
        merges.push(pair.value);
        continue;
      }
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      const kp = [...p, key];
      const keyNode = pair.key as YamlNode | null;
      const valueNode = pair.value as YamlNode | null;
      if (seen.has(key)) w.onDuplicate(w.at(keyNode?.range?.[0] ?? 0), kp, key);
      seen.add(key);
      // the value's position for scalars and lists; the key's for maps and empty values
      const target = valueNode && ((isScalar(valueNode) && (valueNode.value !== null || w.typedEnv.has(valueNode))) || isSeq(valueNode)) ? valueNode : keyNode;
      if (target?.range) w.out.set(pathKey(kp), w.at(target.range[0]));
      if (keyNode?.range) w.keysOut.set(pathKey(kp), w.at(keyNode.range[0]));
      recordPositions(valueNode, kp, w);
    }
    // merged keys: only those the mapping does not set itself (an earlier source wins over a later one)
    for (const m of merges) {
      const target = isAlias(m) ? m.resolve(w.doc) : m;
      for (const src of isSeq(target) ? target.items.map((x) => (isAlias(x) ? x.resolve(w.doc) : x)) : [target]) {
        if (!isMap(src) || w.depth > 20) continue;
        for (const pair of src.items) {
          if (!isPair(pair) || isMergeKey(pair.key)) continue;
          const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
          if (seen.has(key)) continue;
          seen.add(key);
          const kp = [...p, key];
          const keyNode = pair.key as YamlNode | null;
          const valueNode = pair.value as YamlNode | null;
          const at = valueNode && ((isScalar(valueNode) && (valueNode.value !== null || w.typedEnv.has(valueNode))) || isSeq(valueNode)) ? valueNode : keyNode;
          if (at?.range) w.out.set(pathKey(kp), w.at(at.range[0]));
          if (keyNode?.range) w.keysOut.set(pathKey(kp), w.at(keyNode.range[0]));
          w.depth++;
          recordPositions(valueNode, kp, w);
          w.depth--;
        }
      }
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => {
      const n = item as YamlNode;
      if (n?.range) w.out.set(pathKey([...p, i]), w.at(n.range[0]));
      recordPositions(n, [...p, i], w);
    });
  } else if (isScalar(node)) {
    w.onScalar(node, p);
  }
}

// a reference's name after `${` (`env:NAME` or `NAME`: env is the default scheme, as in the Collector), then
// its end or the start of its default
const REF_NAME_AT = /(env:)?([A-Za-z_][A-Za-z0-9_]*)(:-|\})/y;
// any other `${...`: a mistyped reference, refused rather than kept as text
const BAD_REF_AT = /\$\{[^}]*\}?/y;
/** How deep references may nest in defaults (`${env:A:-${env:B:-...}}`): far past any real use, far below the stack's limit. */
const MAX_DEFAULT_DEPTH = 32;

/**
 * Expands `${env:NAME}`, `${env:NAME:-default}` (or `${NAME}`, `${NAME:-default}`) and `$$` in every scalar
 * value. A default may itself hold references (`${env:HOST:-${env:FALLBACK_HOST}}`), expanded innermost first
 * as the Collector does; what a variable holds is taken as it is, never expanded again. Where the reference is
 * the whole unquoted value, the result is typed as YAML would type it
 * (`port: ${env:PORT}` is a number) when it is a plain number, boolean or null, and stays its text otherwise
 * (see {@link typeEnvValue}); the returned map holds, for each scalar so typed, the text it expanded to (see
 * {@link keepEnvText}); `quoted` holds, for each whole reference written in quotes (which stays text), its
 * source. Errors name the scalar and its key path.
 */
function expandEnv(
  doc: Document,
  env: NodeJS.ProcessEnv,
  onError: (node: YamlNode, path: (string | number)[], message: string) => void,
): { typed: Map<Scalar, string>; quoted: Map<Scalar, string> } {
  const typedText = new Map<Scalar, string>();
  const quoted = new Map<Scalar, string>();
  YAML.visit(doc, {
    Scalar(key, node, ancestors) {
      if (key === 'key' || typeof node.value !== 'string' || !node.value.includes('$')) return;
      const src = node.value;
      let failed = false;
      const expanded = expandReferences(src, env, (message) => {
        failed = true;
        onError(node, pathOf(ancestors, node), message);
      });
      if (failed) return;
      if (node.type === 'PLAIN' && expanded.whole) {
        node.value = typeEnvValue(expanded.text);
        if (typeof node.value !== 'string') typedText.set(node, expanded.text);
      } else {
        if (expanded.whole && (node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE')) quoted.set(node, src);
        node.value = expanded.text;
      }
    },
  });
  return { typed: typedText, quoted };
}

/**
 * The text of `src` with its references and `$$` expanded, and whether `src` is one reference and nothing
 * else; every reference that cannot be expanded goes to `fail` (and expands to "").
 */
function expandReferences(src: string, env: NodeJS.ProcessEnv, fail: (message: string) => void): { text: string; whole: boolean } {
  let unused = 0; // > 0 while reading a default that is not used
  let depth = 0; // defaults being read, one inside the other
  const bad = (ref: string, why: string) => fail(`${JSON.stringify(ref)} is not a reference vigil expands: ${why}`);
  // the reference that starts at `i` (with `${`): its value and where it ends
  const reference = (i: number): { value: string; end: number } => {
    REF_NAME_AT.lastIndex = i + 2;
    const m = REF_NAME_AT.exec(src);
    if (m) {
      const name = m[2]!;
      let end = REF_NAME_AT.lastIndex;
      let def: string | undefined;
      const v = env[name];
      const set = v !== undefined && v !== '';
      if (m[3] === ':-') {
        // a bound on the recursion: a config is never a way to exhaust the stack
        if (depth >= MAX_DEFAULT_DEPTH) throw new TooDeep();
        // a default that is not used needs no variable of its own set (as in a shell), but is still read
        if (set) unused++;
        depth++;
        const d = sequence(end, true);
        depth--;
        if (set) unused--;
        if (src[d.end] !== '}') {
          bad(src.slice(i, d.end), 'it has no closing "}" (write $$ for a literal $)');
          return { value: '', end: d.end };
        }
        def = d.text;
        end = d.end + 1;
      }
      if (set) return { value: v, end };
      if (def !== undefined || v === '') return { value: def ?? '', end };
      if (!unused) fail(`environment variable ${name} is not set and has no default (write \${${m[1] ?? ''}${name}:-default})`);
      return { value: '', end };
    }
    BAD_REF_AT.lastIndex = i;
    const all = BAD_REF_AT.exec(src)![0];
    bad(all, badReference(all));
    return { value: '', end: i + all.length };
  };
  // text, `$$` and references from `i` to the end, or (in a default) to its closing `}`
  const sequence = (i: number, inDefault: boolean): { text: string; end: number } => {
    let text = '';
    while (i < src.length) {
      if (src.startsWith('$$', i)) {
        text += '$';
        i += 2;
      } else if (src.startsWith('${', i)) {
        const r = reference(i);
        text += r.value;
        i = r.end;
      } else if (inDefault && src[i] === '}') {
        break;
      } else {
        text += src[i];
        i++;
      }
    }
    return { text, end: i };
  };
  try {
    if (src.startsWith('${')) {
      const first = reference(0);
      if (first.end === src.length) return { text: first.value, whole: true };
      return { text: first.value + sequence(first.end, false).text, whole: false };
    }
    return { text: sequence(0, false).text, whole: false };
  } catch (e) {
    if (!(e instanceof TooDeep)) throw e;
    fail(`references are nested more than ${MAX_DEFAULT_DEPTH} deep in defaults (\${env:A:-\${env:B:-...}})`);
    return { text: '', whole: false };
  }
}

/** Thrown through {@link expandReferences}'s recursion when defaults nest past {@link MAX_DEFAULT_DEPTH}. */
class TooDeep extends Error {}

/**
 * The value of an expanded whole-value reference: a number, boolean or null where the text is exactly one
 * plain YAML scalar that YAML types so (`8080`, `true`, `1.5`), and the text itself otherwise. A value that
 * holds YAML syntax (`a: 1`, `[x]`, `abc # note`, `'quoted'`, `!!str 5`, `*alias`, `"open`, `---`) is
 * never read as structure, never loses a comment, quotes or a tag, and never throws.
 */
function typeEnvValue(text: string): unknown {
  const doc = YAML.parseDocument(text);
  if (doc.errors.length || doc.warnings.length || doc.commentBefore || doc.comment) return text;
  const c = doc.contents;
  if (!isScalar(c) || c.type !== 'PLAIN' || c.tag || c.comment || c.commentBefore || !c.range) return text;
  if (text.slice(c.range[0], c.range[1]) !== text.trim()) return text;
  return c.value === null || typeof c.value === 'number' || typeof c.value === 'boolean' ? c.value : text;
}

/**
 * Why `${...` is not `${env:NAME}` or `${env:NAME:-default}`. The Collector's rules: a name matches
 * `[A-Za-z_][A-Za-z0-9_]*`, and a scheme it has no provider for is an error, not literal text.
 */
function badReference(ref: string): string {
  const literal = 'write $$ for a literal $';
  if (!ref.endsWith('}')) return `it has no closing "}" (${literal})`;
  const m = /^\$\{([^:}]*):(.*)\}$/s.exec(ref);
  if (!m) return `expected \${env:NAME} or \${env:NAME:-default} (${literal})`;
  if (m[1] !== 'env') return `the only scheme is "env" (\${env:NAME}), not ${JSON.stringify(m[1])} (${literal})`;
  const name = m[2]!.split(':-')[0]!;
  return name === '' ? 'the variable name is empty' : `the variable name ${JSON.stringify(name)} must match [A-Za-z_][A-Za-z0-9_]*`;
}

function article(kind: ComponentKind): string {
  return kind === 'exporter' ? 'an' : 'a';
}

/** The key path of the first string equal to `value` inside `v` (where an endpoint is written). */
function findValue(v: unknown, value: string): (string | number)[] | undefined {
  if (v === value) return [];
  if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      const sub = findValue(x, value);
      if (sub) return [Array.isArray(v) ? Number(k) : k, ...sub];
    }
  }
  return undefined;
}
