/**
 * Validates the Kubernetes manifests in deploy/kubernetes/ without a cluster:
 * - every document against the vendored strict JSON Schema of its kind (schemas/, see SOURCE.md), so a
 *   misspelt field or a wrong type fails as `kubectl apply --validate=strict` would;
 * - the references between documents: ConfigMaps, Secrets (and their keys), PVCs and volumes that pods
 *   name exist; Service selectors match a pod template and their target ports exist; Deployment
 *   selectors match their template;
 * - the deployment rules: every container has resource requests and limits and a non-root, read-only,
 *   no-privilege-escalation security context; a vigil container has its config from a ConfigMap, its
 *   state directory on a writable volume, liveness on /healthz and readiness on /readyz at its telemetry
 *   endpoint (which must not be loopback: the kubelet probes the pod IP), and every `${env:NAME}` its
 *   config needs without a default set in its environment; an app pointing OTEL_EXPORTER_OTLP_ENDPOINT
 *   at localhost has a vigil beside it listening on that port; an `otlp` exporter's endpoint names a
 *   Service port.
 * It returns the vigil configs it found (with the environment their container gets); run as a script it
 * also checks each as `vigil validate` does (the config loader, with that environment).
 *
 *   node --import tsx deploy/kubernetes/validate.ts [dir]   (exit 1 with one line per problem)
 */
import fs from 'node:fs';
import path from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { DEFAULT_MAX_BYTES_IN_FLIGHT } from '../../src/otlp/intake.ts';

type Obj = Record<string, any>;

export interface Manifest {
  file: string;
  index: number;
  doc: Obj;
}

export interface VigilConfigRef {
  /** `file (Deployment/name) container vigil`. */
  where: string;
  configMap: string;
  key: string;
  text: string;
  /** The container's environment with Secret references resolved from the Secrets in the folder. */
  env: Record<string, string>;
}

export interface ManifestReport {
  manifests: Manifest[];
  problems: string[];
  configs: VigilConfigRef[];
}

const here = path.dirname(new URL(import.meta.url).pathname);

/** Every YAML document of every `*.yaml` file directly in `dir`. */
export function loadManifests(dir: string): { manifests: Manifest[]; problems: string[] } {
  const manifests: Manifest[] = [];
  const problems: string[] = [];
  for (const name of fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    const text = fs.readFileSync(path.join(dir, name), 'utf8');
    parseAllDocuments(text).forEach((d, index) => {
      if ('errors' in d && d.errors.length) {
        for (const e of d.errors) problems.push(`${name}: ${e.message}`);
        return;
      }
      const doc = d.toJS() as Obj | null;
      if (doc) manifests.push({ file: name, index, doc });
    });
  }
  return { manifests, problems };
}

let ajvInstance: Ajv | undefined;
function schemaAjv(): Ajv {
  if (ajvInstance) return ajvInstance;
  const ajv = new Ajv({ allErrors: true, strict: true });
  const dir = path.join(here, 'schemas');
  for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.json'))) ajv.addSchema(JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')));
  ajvInstance = ajv;
  return ajv;
}

function describeError(e: ErrorObject): string {
  const at = e.instancePath || '/';
  if (e.keyword === 'additionalProperties') return `${at}: unknown field "${(e.params as { additionalProperty: string }).additionalProperty}"`;
  if (e.keyword === 'enum') return `${at}: ${e.message} (${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')})`;
  return `${at}: ${e.message}`;
}

/** Schema problems of one document ([] when valid). */
export function schemaProblems(doc: Obj): string[] {
  const id = `vigil:kubernetes/${doc.apiVersion}/${doc.kind}`;
  const validate = schemaAjv().getSchema(id);
  if (!validate) return [`no schema for apiVersion "${doc.apiVersion}" kind "${doc.kind}" in deploy/kubernetes/schemas`];
  if (validate(doc)) return [];
  // anyOf branches repeat themselves: keep each message once
  return [...new Set((validate.errors ?? []).filter((e) => e.keyword !== 'anyOf').map(describeError))];
}

const ENV_REF = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}/g;

function isLoopback(host: string): boolean {
  return host === 'localhost' || host.startsWith('127.') || host === '::1' || host === '[::1]';
}

function splitEndpoint(ep: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(String(ep).trim());
  return m ? { host: m[1] ?? m[2] ?? '', port: Number(m[3]) } : undefined;
}

/** Validates every manifest in `dir` (default: this folder). */
/** MiB of a Kubernetes memory quantity (`256Mi`, `1Gi`, `512M`, `1e9`), undefined if unreadable. */
export function quantityMiB(q: unknown): number | undefined {
  const m = /^(\d+(?:\.\d+)?(?:e\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(String(q ?? '').trim());
  if (!m) return undefined;
  const unit: Record<string, number> = { '': 1, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };
  return (Number(m[1]) * unit[m[2] ?? '']!) / 1024 ** 2;
}

/** V8's default semi-space on 64-bit (MiB); the young generation is three of them (V8 `Heap::YoungGenerationSizeFromSemiSpaceSize`). */
const V8_DEFAULT_SEMI_SPACE_MIB = 16;
/**
 * Resident memory of vigil beside the V8 heap (MiB): node and its code, the ICU data, thread stacks, the
 * telemetry endpoint's thread. Measured: RSS minus V8's heap total is 45-52 MiB idle and under load.
 */
export const RUNTIME_MIB = 64;

/**
 * The memory-sizing rule (deploy/README.md, "Sizing memory"): everything vigil may hold at once must fit the
 * container's memory limit, or the kernel kills the container before memory_limiter refuses anything:
 * `--max-old-space-size` + 3 x `--max-semi-space-size` + the request bodies its receivers may hold
 * (`max_bytes_in_flight` of every otlp and http_json receiver) + {@link RUNTIME_MIB} <= `limits.memory`; and
 * memory_limiter's `limit_mib` within 90% of the old-space cap, as the limiter itself requires.
 */
export function memorySizingProblems(where: string, nodeOptions: string | undefined, limit: unknown, cfg: Obj): string[] {
  const problems: string[] = [];
  const oldMiB = Number(/--max-old-space-size=(\d+)/.exec(nodeOptions ?? '')?.[1] ?? Number.NaN);
  const semiMiB = Number(/--max-semi-space-size=(\d+)/.exec(nodeOptions ?? '')?.[1] ?? V8_DEFAULT_SEMI_SPACE_MIB);
  if (!Number.isFinite(oldMiB)) {
    problems.push(`${where}: NODE_OPTIONS sets no --max-old-space-size: V8 sizes its heap from the node's memory, not from the container's limit`);
    return problems;
  }
  const limitMiB = quantityMiB(limit);
  if (limitMiB === undefined) return problems; // "limits.memory is not set" is reported beside the other resources
  let bodiesMiB = 0;
  for (const [id, r] of Object.entries<Obj>(cfg.receivers ?? {})) {
    if (/^(otlp|http_json)(\/|$)/.test(id)) bodiesMiB += (r?.max_bytes_in_flight ?? DEFAULT_MAX_BYTES_IN_FLIGHT) / 1024 ** 2;
  }
  const need = oldMiB + 3 * semiMiB + bodiesMiB + RUNTIME_MIB;
  if (need > limitMiB) {
    problems.push(
      `${where}: resources.limits.memory (${limitMiB} MiB) is below what vigil may hold at once: heap ${oldMiB} + young generation 3 x ${semiMiB} + request bodies in flight ${bodiesMiB} + runtime ${RUNTIME_MIB} = ${need} MiB (lower --max-old-space-size, --max-semi-space-size or max_bytes_in_flight, or raise the limit)`,
    );
  }
  for (const [id, p] of Object.entries<Obj>(cfg.processors ?? {})) {
    if (/^memory_limiter(\/|$)/.test(id) && typeof p?.limit_mib === 'number' && p.limit_mib > 0.9 * oldMiB) {
      problems.push(`${where}: processors.${id}.limit_mib ${p.limit_mib} is above 90% of --max-old-space-size=${oldMiB}: the heap would run out before the limiter refuses`);
    }
  }
  return problems;
}

export function validateManifests(dir = here): ManifestReport {
  const { manifests, problems } = loadManifests(dir);
  const configs: VigilConfigRef[] = [];
  const label = (m: Manifest) => `${m.file} (${m.doc.kind}/${m.doc.metadata?.name ?? '?'})`;
  const byKind = (kind: string) => manifests.filter((m) => m.doc.kind === kind);
  const named = (kind: string, name: string) => byKind(kind).find((m) => m.doc.metadata?.name === name);

  for (const m of manifests) for (const p of schemaProblems(m.doc)) problems.push(`${label(m)}: ${p}`);

  const secretValue = (name: string, key: string): string | undefined => {
    const s = named('Secret', name)?.doc;
    if (!s) return undefined;
    if (s.stringData && key in s.stringData) return String(s.stringData[key]);
    if (s.data && key in s.data) return Buffer.from(String(s.data[key]), 'base64').toString('utf8');
    return undefined;
  };

  const templates: { m: Manifest; labels: Record<string, string>; pod: Obj }[] = [];
  for (const m of byKind('Deployment')) {
    const where = label(m);
    const spec = m.doc.spec ?? {};
    const pod = spec.template?.spec ?? {};
    const labels: Record<string, string> = spec.template?.metadata?.labels ?? {};
    templates.push({ m, labels, pod });
    for (const [k, v] of Object.entries<string>(spec.selector?.matchLabels ?? {})) {
      if (labels[k] !== v) problems.push(`${where}: selector ${k}=${v} does not match the pod template's labels`);
    }
    const volumes = new Map<string, Obj>((pod.volumes ?? []).map((v: Obj) => [v.name, v]));
    for (const v of volumes.values()) {
      if (v.configMap && !named('ConfigMap', v.configMap.name)) problems.push(`${where}: volume ${v.name} names ConfigMap "${v.configMap.name}", which is not defined here`);
      if (v.persistentVolumeClaim && !named('PersistentVolumeClaim', v.persistentVolumeClaim.claimName)) problems.push(`${where}: volume ${v.name} names PersistentVolumeClaim "${v.persistentVolumeClaim.claimName}", which is not defined here`);
      if (v.secret && !named('Secret', v.secret.secretName)) problems.push(`${where}: volume ${v.name} names Secret "${v.secret.secretName}", which is not defined here`);
    }
    const sidecars = (pod.initContainers ?? []).filter((c: Obj) => c.restartPolicy === 'Always');
    const containers: Obj[] = [...sidecars, ...(pod.containers ?? [])];
    const vigilPorts = new Set<number>();

    for (const c of containers) {
      const cw = `${where} container ${c.name}`;
      for (const kind of ['requests', 'limits']) {
        for (const r of ['cpu', 'memory']) if (c.resources?.[kind]?.[r] === undefined) problems.push(`${cw}: resources.${kind}.${r} is not set`);
      }
      const sc = c.securityContext ?? {};
      if (sc.allowPrivilegeEscalation !== false) problems.push(`${cw}: securityContext.allowPrivilegeEscalation must be false`);
      if (sc.readOnlyRootFilesystem !== true) problems.push(`${cw}: securityContext.readOnlyRootFilesystem must be true`);
      if (sc.runAsNonRoot !== true && pod.securityContext?.runAsNonRoot !== true) problems.push(`${cw}: runAsNonRoot is not set (container or pod)`);
      for (const vm of c.volumeMounts ?? []) if (!volumes.has(vm.name)) problems.push(`${cw}: volumeMount ${vm.name} has no volume`);
      const env: Record<string, string> = {};
      const declared = new Set<string>((c.env ?? []).map((e: Obj) => e.name));
      for (const e of c.env ?? []) {
        const ref = e.valueFrom?.secretKeyRef;
        if (ref) {
          const v = secretValue(ref.name, ref.key);
          if (v === undefined && !ref.optional) problems.push(`${cw}: env ${e.name} reads key "${ref.key}" of Secret "${ref.name}", which is not defined here`);
          else if (v !== undefined) env[e.name] = v;
        } else if (e.value !== undefined) env[e.name] = String(e.value);
      }

      if (!/^(?:.*\/)?vigil(?::|@|$)/.test(String(c.image))) continue;
      // a vigil container
      const args: string[] = c.args ?? [];
      const ci = args.indexOf('--config');
      const configPath = ci >= 0 ? args[ci + 1] : undefined;
      if (!configPath) {
        problems.push(`${cw}: no --config argument`);
        continue;
      }
      const mount = (c.volumeMounts ?? []).find((vm: Obj) => vm.mountPath === path.posix.dirname(configPath));
      const cmName = mount && volumes.get(mount.name)?.configMap?.name;
      const cm = cmName ? named('ConfigMap', cmName) : undefined;
      const key = path.posix.basename(configPath);
      const text = cm?.doc.data?.[key];
      if (typeof text !== 'string') {
        problems.push(`${cw}: --config ${configPath} is not a key of a ConfigMap mounted at ${path.posix.dirname(configPath)}`);
        continue;
      }
      configs.push({ where: cw, configMap: cmName, key, text, env });
      let cfg: Obj;
      try {
        cfg = parseYaml(text) ?? {};
      } catch (err) {
        problems.push(`${cw}: ConfigMap ${cmName} key ${key} is not YAML: ${(err as Error).message}`);
        continue;
      }
      for (const m2 of text.matchAll(ENV_REF)) {
        if (!m2[2] && !declared.has(m2[1]!)) problems.push(`${cw}: the config needs \${env:${m2[1]}}, which the container's env does not set`);
      }
      problems.push(...memorySizingProblems(cw, env.NODE_OPTIONS, c.resources?.limits?.memory, cfg));
      const portByName = new Map<string, number>((c.ports ?? []).map((p: Obj) => [p.name, p.containerPort]));
      const containerPorts = new Set<number>((c.ports ?? []).map((p: Obj) => p.containerPort));
      const probePort = (probe: Obj | undefined) => {
        const p = probe?.httpGet?.port;
        return typeof p === 'number' ? p : portByName.get(p);
      };
      const telemetry = splitEndpoint(cfg.service?.telemetry?.endpoint ?? 'localhost:8888');
      if (!telemetry) problems.push(`${cw}: service.telemetry.endpoint is not host:port`);
      else {
        if (isLoopback(telemetry.host)) problems.push(`${cw}: service.telemetry.endpoint ${cfg.service?.telemetry?.endpoint} is loopback: the kubelet's probes cannot reach it`);
        for (const [probeName, wantPath] of [['livenessProbe', '/healthz'], ['readinessProbe', '/readyz']] as const) {
          const probe = c[probeName];
          if (!probe) problems.push(`${cw}: no ${probeName}`);
          else if (probe.httpGet?.path !== wantPath) problems.push(`${cw}: ${probeName} must GET ${wantPath}`);
          else if (probePort(probe) !== telemetry.port) problems.push(`${cw}: ${probeName} port is not the telemetry port ${telemetry.port}`);
        }
      }
      const stateDir: string | undefined = cfg.service?.state_dir;
      const stateMount = stateDir && (c.volumeMounts ?? []).find((vm: Obj) => !vm.readOnly && (stateDir === vm.mountPath || stateDir.startsWith(`${vm.mountPath}/`)));
      if (!stateMount) problems.push(`${cw}: service.state_dir ${stateDir ?? '(unset)'} is not on a writable volume (the root filesystem is read-only)`);
      for (const [id, rc] of Object.entries<Obj>(cfg.receivers ?? {})) {
        const eps = id.split('/')[0] === 'otlp' ? [rc?.protocols?.grpc?.endpoint, rc?.protocols?.http?.endpoint] : [rc?.endpoint];
        for (const ep of eps.filter(Boolean)) {
          const hp = splitEndpoint(ep);
          if (!hp) continue;
          vigilPorts.add(hp.port);
          if (!containerPorts.has(hp.port)) problems.push(`${cw}: receiver ${id} listens on ${hp.port}, which is not a containerPort`);
        }
      }
      for (const [id, ec] of Object.entries<Obj>(cfg.exporters ?? {})) {
        if (id.split('/')[0] !== 'otlp') continue;
        const url = String(ec?.endpoint ?? '').replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '');
        const hp = splitEndpoint(url);
        const svc = hp && named('Service', hp.host.split('.')[0]!);
        if (!hp || !svc) problems.push(`${cw}: exporter ${id} endpoint ${ec?.endpoint} names no Service defined here`);
        else if (!(svc.doc.spec?.ports ?? []).some((p: Obj) => p.port === hp.port)) problems.push(`${cw}: exporter ${id} endpoint ${ec?.endpoint}: Service ${svc.doc.metadata.name} has no port ${hp.port}`);
      }
    }
    for (const c of containers) {
      const ep = (c.env ?? []).find((e: Obj) => e.name === 'OTEL_EXPORTER_OTLP_ENDPOINT')?.value;
      if (!ep) continue;
      const u = new URL(ep);
      if (isLoopback(u.hostname) && !vigilPorts.has(Number(u.port))) problems.push(`${where} container ${c.name}: OTEL_EXPORTER_OTLP_ENDPOINT ${ep} but no vigil in the pod listens on port ${u.port}`);
    }
  }

  for (const m of byKind('Service')) {
    const sel: Record<string, string> = m.doc.spec?.selector ?? {};
    const match = templates.find((t) => Object.entries(sel).every(([k, v]) => t.labels[k] === v));
    if (!match) {
      problems.push(`${label(m)}: selector matches no pod template defined here`);
      continue;
    }
    const ports: Obj[] = [...(match.pod.containers ?? []), ...(match.pod.initContainers ?? [])].flatMap((c: Obj) => c.ports ?? []);
    for (const p of m.doc.spec?.ports ?? []) {
      const t = p.targetPort ?? p.port;
      if (!ports.some((cp) => cp.name === t || cp.containerPort === t)) problems.push(`${label(m)}: port ${p.name ?? p.port} targets ${t}, which no container of ${label(match.m)} exposes`);
    }
  }
  return { manifests, problems, configs };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = path.resolve(process.argv[2] ?? here);
  const { manifests, problems, configs } = validateManifests(dir);
  const { loadConfig, formatConfigError } = await import('../../src/config/load.ts');
  const { components } = await import('../../app/components.ts');
  const os = await import('node:os');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-k8s-configs-'));
  for (const c of configs) {
    const file = path.join(tmp, `${c.configMap}.yaml`);
    fs.writeFileSync(file, c.text);
    const { errors } = await loadConfig([file], components, { PATH: process.env.PATH, ...c.env });
    for (const e of errors) problems.push(`${c.where}: ConfigMap ${c.configMap} key ${c.key}: ${formatConfigError(e).replace(file, c.key)}`);
  }
  fs.rmSync(tmp, { recursive: true, force: true });
  for (const p of problems) console.log(p);
  if (problems.length) process.exit(1);
  console.log(`${manifests.length} Kubernetes manifests in ${path.relative(process.cwd(), dir) || '.'}: valid; ${configs.length} vigil configs in them: valid`);
}
