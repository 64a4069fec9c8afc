/**
 * The Kubernetes examples in deploy/kubernetes/: valid against the strict schemas of their kinds, their
 * cross-references hold, they follow the deployment rules (deploy/kubernetes/validate.ts), and the vigil
 * config in each ConfigMap passes `vigil validate` with the environment its container gets.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { schemaProblems, validateManifests } from '../deploy/kubernetes/validate.ts';
import { components } from '../app/components.ts';
import { formatConfigError, loadConfig } from '../src/config/load.ts';
import YAML from 'yaml';
import { tempDir } from './helpers/index.ts';

const root = path.resolve(import.meta.dirname, '..');
const k8sDir = path.join(root, 'deploy/kubernetes');
const scratch = tempDir('vigil-k8s-');
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** A copy of deploy/kubernetes/*.yaml in a temp folder, with `edit` applied to one file's text. */
function mutated(file: string, edit: (text: string) => string): string {
  const dir = fs.mkdtempSync(path.join(scratch, 'case-'));
  for (const f of fs.readdirSync(k8sDir).filter((f) => f.endsWith('.yaml'))) {
    const text = fs.readFileSync(path.join(k8sDir, f), 'utf8');
    const out = f === file ? edit(text) : text;
    if (f === file && out === text) throw new Error(`edit of ${file} changed nothing`);
    fs.writeFileSync(path.join(dir, f), out);
  }
  return dir;
}

describe('deploy/kubernetes', () => {
  const report = validateManifests(k8sDir);

  it('has a sidecar example, a gateway with its Service and state volume, and a forwarding sidecar', () => {
    const kinds = report.manifests.map((m) => `${m.file}:${m.doc.kind}/${m.doc.metadata.name}`);
    expect(kinds).toEqual([
      'gateway.yaml:ConfigMap/vigil-gateway-config',
      'gateway.yaml:PersistentVolumeClaim/vigil-gateway-state',
      'gateway.yaml:Deployment/vigil-gateway',
      'gateway.yaml:Service/vigil-gateway',
      'secret.example.yaml:Secret/vigil-notifications',
      'sidecar-forwarding.yaml:ConfigMap/vigil-forwarder-config',
      'sidecar-forwarding.yaml:Deployment/search',
      'sidecar.yaml:ConfigMap/vigil-sidecar-config',
      'sidecar.yaml:Deployment/checkout',
    ]);
  });

  it('passes schema, reference and deployment-rule validation', () => {
    expect(report.problems).toEqual([]);
    expect(report.configs.map((c) => c.configMap).sort()).toEqual(['vigil-forwarder-config', 'vigil-gateway-config', 'vigil-sidecar-config']);
  });

  it('the schemas reject unknown fields and wrong types (strict)', () => {
    const checkout = report.manifests.find((m) => m.doc.metadata.name === 'checkout')!.doc;
    const bad = structuredClone(checkout);
    const vigil = bad.spec.template.spec.initContainers[0];
    vigil.livenesProbe = vigil.livenessProbe;
    vigil.resources.limits = 'lots';
    bad.spec.replicas = 'two';
    expect(schemaProblems(bad)).toEqual([
      '/spec/replicas: must be integer',
      '/spec/template/spec/initContainers/0: unknown field "livenesProbe"',
      '/spec/template/spec/initContainers/0/resources/limits: must be object',
    ]);
    expect(schemaProblems({ apiVersion: 'apps/v1beta1', kind: 'Deployment', metadata: { name: 'x' } })).toEqual([
      'no schema for apiVersion "apps/v1beta1" kind "Deployment" in deploy/kubernetes/schemas',
    ]);
  });

  it('catches broken references and rule violations', () => {
    const cases: [string, (t: string) => string, string][] = [
      ['sidecar.yaml', (t) => t.replace('endpoint: 0.0.0.0:8888', 'endpoint: 127.0.0.1:8888'),
        'sidecar.yaml (Deployment/checkout) container vigil: service.telemetry.endpoint 127.0.0.1:8888 is loopback: the kubelet\'s probes cannot reach it'],
      ['sidecar.yaml', (t) => t.replace('key: SMTP_PASSWORD}', 'key: SMTP_PASSWRD}'),
        'sidecar.yaml (Deployment/checkout) container vigil: env SMTP_PASSWORD reads key "SMTP_PASSWRD" of Secret "vigil-notifications", which is not defined here'],
      ['sidecar.yaml', (t) => t.replace('webhook_url: ${env:SLACK_WEBHOOK_URL}', 'webhook_url: ${env:SLACK_URL}'),
        'sidecar.yaml (Deployment/checkout) container vigil: the config needs ${env:SLACK_URL}, which the container\'s env does not set'],
      ['sidecar.yaml', (t) => t.replace('state_dir: /var/lib/vigil', 'state_dir: /data/vigil'),
        'sidecar.yaml (Deployment/checkout) container vigil: service.state_dir /data/vigil is not on a writable volume (the root filesystem is read-only)'],
      ['sidecar.yaml', (t) => t.replace('value: http://localhost:4318', 'value: http://localhost:4320'),
        'sidecar.yaml (Deployment/checkout) container checkout: OTEL_EXPORTER_OTLP_ENDPOINT http://localhost:4320 but no vigil in the pod listens on port 4320'],
      ['sidecar.yaml', (t) => t.replace('httpGet: {path: /healthz, port: telemetry}', 'httpGet: {path: /metrics, port: telemetry}'),
        'sidecar.yaml (Deployment/checkout) container vigil: livenessProbe must GET /healthz'],
      ['sidecar.yaml', (t) => t.replace('readOnlyRootFilesystem: true', 'readOnlyRootFilesystem: false'),
        'sidecar.yaml (Deployment/checkout) container vigil: securityContext.readOnlyRootFilesystem must be true'],
      ['gateway.yaml', (t) => t.replace('targetPort: otlp-grpc', 'targetPort: grpc'),
        'gateway.yaml (Service/vigil-gateway): port otlp-grpc targets grpc, which no container of gateway.yaml (Deployment/vigil-gateway) exposes'],
      ['gateway.yaml', (t) => t.replace('claimName: vigil-gateway-state', 'claimName: vigil-state'),
        'gateway.yaml (Deployment/vigil-gateway): volume vigil-state names PersistentVolumeClaim "vigil-state", which is not defined here'],
      ['sidecar-forwarding.yaml', (t) => t.replace('endpoint: http://vigil-gateway:4317', 'endpoint: http://vigil-gw:4317'),
        'sidecar-forwarding.yaml (Deployment/search) container vigil: exporter otlp/gateway endpoint http://vigil-gw:4317 names no Service defined here'],
      ['sidecar-forwarding.yaml', (t) => t.replace('limits: {cpu: 500m, memory: 256Mi}', 'limits: {cpu: 500m}'),
        'sidecar-forwarding.yaml (Deployment/search) container vigil: resources.limits.memory is not set'],
      // memory sizing (deploy/README.md, "Sizing memory"): heap + young generation + bodies in flight + runtime
      ['sidecar.yaml', (t) => t.replace('--max-old-space-size=136 --max-semi-space-size=8', '--max-old-space-size=136'),
        'sidecar.yaml (Deployment/checkout) container vigil: resources.limits.memory (256 MiB) is below what vigil may hold at once: heap 136 + young generation 3 x 16 + request bodies in flight 16 + runtime 64 = 264 MiB (lower --max-old-space-size, --max-semi-space-size or max_bytes_in_flight, or raise the limit)'],
      ['sidecar.yaml', (t) => t.replace('max_bytes_in_flight: 16777216', 'max_bytes_in_flight: 50331648'),
        'sidecar.yaml (Deployment/checkout) container vigil: resources.limits.memory (256 MiB) is below what vigil may hold at once: heap 136 + young generation 3 x 8 + request bodies in flight 48 + runtime 64 = 272 MiB (lower --max-old-space-size, --max-semi-space-size or max_bytes_in_flight, or raise the limit)'],
      ['gateway.yaml', (t) => t.replace('limits: {cpu: "2", memory: 1Gi}', 'limits: {cpu: "2", memory: 900Mi}'),
        'gateway.yaml (Deployment/vigil-gateway) container vigil: resources.limits.memory (900 MiB) is below what vigil may hold at once: heap 768 + young generation 3 x 16 + request bodies in flight 64 + runtime 64 = 944 MiB (lower --max-old-space-size, --max-semi-space-size or max_bytes_in_flight, or raise the limit)'],
      ['sidecar.yaml', (t) => t.replace('value: --max-old-space-size=136 --max-semi-space-size=8', 'value: --max-semi-space-size=8'),
        "sidecar.yaml (Deployment/checkout) container vigil: NODE_OPTIONS sets no --max-old-space-size: V8 sizes its heap from the node's memory, not from the container's limit"],
      ['gateway.yaml', (t) => t.replace('limit_mib: 690', 'limit_mib: 700'),
        'gateway.yaml (Deployment/vigil-gateway) container vigil: processors.memory_limiter.limit_mib 700 is above 90% of --max-old-space-size=768: the heap would run out before the limiter refuses'],
    ];
    for (const [file, edit, expected] of cases) {
      expect(validateManifests(mutated(file, edit)).problems).toEqual([expected]);
    }
  });

  describe('the vigil config in each ConfigMap', () => {
    // what `vigil validate --config FILE` does (app/cli.ts), in-process: loadConfig with the container's env
    const validateWith = async (text: string, name: string, env: Record<string, string>) => {
      const file = path.join(scratch, `${name}.yaml`);
      fs.writeFileSync(file, text);
      return (await loadConfig([file], components, { PATH: process.env.PATH, ...env })).errors.map(formatConfigError);
    };

    it.each(['vigil-sidecar-config', 'vigil-gateway-config', 'vigil-forwarder-config'])('%s passes `vigil validate` with its container\'s environment', async (name) => {
      const c = report.configs.find((x) => x.configMap === name)!;
      expect(await validateWith(c.text, name, c.env)).toEqual([]);
    });

    it('names the variable when a Secret value is missing from the environment', async () => {
      const c = report.configs.find((x) => x.configMap === 'vigil-sidecar-config')!;
      const { SMTP_PASSWORD: _dropped, ...env } = c.env;
      const errors = await validateWith(c.text, 'sidecar-missing-env', env);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toContain('SMTP_PASSWORD');
    });
  });

  it('the image\'s default config (deploy/pipelines.container.yaml) passes `vigil validate` with only VIGIL_BEARER_TOKEN set, and names it when missing', () => {
    const validate = (env: NodeJS.ProcessEnv) =>
      spawnSync(process.execPath, [path.join(root, 'bin/vigil.js'), 'validate', '--config', path.join(root, 'deploy/pipelines.container.yaml')], { cwd: root, encoding: 'utf8', timeout: 30_000, env });
    const { VIGIL_BEARER_TOKEN: _unset, ...withoutToken } = process.env;
    const r = validate({ ...withoutToken, VIGIL_BEARER_TOKEN: 'a-token' });
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/error/i);
    expect(r.status).toBe(0);
    const missing = validate(withoutToken);
    expect(missing.status).toBe(1);
    expect(`${missing.stdout}${missing.stderr}`).toContain('VIGIL_BEARER_TOKEN');
  });

  it('every listener of the shipped configs that binds beyond loopback requires a bearer token from the environment', () => {
    const configs: [string, Record<string, any>][] = [['deploy/pipelines.container.yaml', YAML.parse(fs.readFileSync(path.join(root, 'deploy/pipelines.container.yaml'), 'utf8'))]];
    for (const f of ['sidecar.yaml', 'gateway.yaml', 'sidecar-forwarding.yaml'])
      for (const doc of YAML.parseAllDocuments(fs.readFileSync(path.join(root, 'deploy/kubernetes', f), 'utf8'))) {
        const o = doc.toJS() as { kind?: string; data?: Record<string, string> };
        if (o?.kind === 'ConfigMap' && o.data?.['pipelines.yaml']) configs.push([f, YAML.parse(o.data['pipelines.yaml'])]);
      }
    expect(configs).toHaveLength(4);
    for (const [file, c] of configs) {
      const listeners: [string, unknown][] = [];
      for (const [id, r] of Object.entries<any>(c.receivers ?? {})) listeners.push([`receivers.${id}`, r.auth?.bearer_token]);
      for (const [id, e] of Object.entries<any>(c.exporters ?? {})) if (id.startsWith('prometheus')) listeners.push([`exporters.${id}`, e.auth?.bearer_token]);
      listeners.push(['service.telemetry', c.service?.telemetry?.auth?.bearer_token]);
      for (const [where, token] of listeners) expect(token, `${file} ${where}`).toBe('${env:VIGIL_BEARER_TOKEN}');
    }
  });
});
