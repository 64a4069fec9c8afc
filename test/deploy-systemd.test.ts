/**
 * deploy/systemd/vigil.service, checked with systemd's own tools where they are installed (Debian
 * package `systemd`, see .ci/steps/60-deploy.sh): `systemd-analyze verify` must print nothing (it only
 * warns about unknown keys and bad values, so any output is a failure here), and the offline security
 * analysis must rate the unit's exposure low. Skipped, with a message, where systemd-analyze is missing.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { components } from '../app/components.ts';
import { formatConfigError, loadConfig } from '../src/config/load.ts';
import { freePort } from './helpers/daemon.ts';
import { tempDir, waitFor } from './helpers/index.ts';

const root = path.resolve(import.meta.dirname, '..');
const unitText = fs.readFileSync(path.join(root, 'deploy/systemd/vigil.service'), 'utf8');

function which(cmd: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}
const analyze = which('systemd-analyze');
if (!analyze) console.warn('deploy-systemd: systemd-analyze not installed (Debian package systemd): skipping verify');
const strace = which('strace');
if (!strace) console.warn('deploy-systemd: strace not installed (Debian package strace): skipping the system-call filter check');

const dir = tempDir('vigil-systemd-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The unit with /usr/bin/node replaced by this machine's node, so `verify` can find the executable. */
function writeUnit(text: string, name = 'vigil.service'): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text.replaceAll('/usr/bin/node', process.execPath));
  return file;
}

function verify(file: string): { status: number | null; output: string } {
  const r = spawnSync(analyze!, ['verify', '--man=no', file], { encoding: 'utf8', env: { ...process.env, SYSTEMD_LOG_COLOR: '0' } });
  return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

function directives(text: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const hit = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (hit) m.set(hit[1]!, [...(m.get(hit[1]!) ?? []), hit[2]!]);
  }
  return m;
}

describe('deploy/systemd/vigil.service', () => {
  it('has the hardening and lifecycle settings the deployment relies on', () => {
    const d = directives(unitText);
    const one = (k: string) => d.get(k)?.at(-1);
    expect(one('DynamicUser')).toBe('yes');
    expect(one('StateDirectory')).toBe('vigil');
    expect(one('ProtectSystem')).toBe('strict');
    expect(one('ProtectHome')).toBe('yes');
    expect(one('NoNewPrivileges')).toBe('yes');
    expect(one('PrivateTmp')).toBe('yes');
    expect(one('RestrictAddressFamilies')).toBe('AF_INET AF_INET6 AF_UNIX');
    expect(one('MemoryMax')).toMatch(/^\d+[KMG]$/);
    expect(one('ExecReload')).toBe('/bin/kill -HUP $MAINPID');
    expect(one('KillSignal')).toBe('SIGTERM');
    expect(one('TimeoutStopSec')).toMatch(/^\d+s$/);
    expect(one('ExecStart')).toBe('/usr/bin/node /opt/vigil/bin/vigil.js run --config /etc/vigil/pipelines.yaml');
    // V8 (node 20) calls pkey_alloc/pkey_mprotect at start: the filter must allow them or node is killed
    expect(d.get('SystemCallFilter')?.[0]).toMatch(/^@system-service\b.*\bpkey_alloc\b.*\bpkey_mprotect\b/);
    expect(one('SystemCallErrorNumber')).toBe('EPERM');
    // the state directory systemd creates is the one the config's service.state_dir points at
    expect(d.get('Environment')).toContain('VIGIL_STATE_DIR=/var/lib/vigil');
  });

  it('binds loopback only: every listener of the config it runs, under its Environment= lines, is on 127.0.0.1', async () => {
    // the unit runs deploy/pipelines.container.yaml (deploy/README.md, "VM"), whose endpoints default to 0.0.0.0
    // for the container: the unit must move each of them, or that listener is open to the network on the VM
    const env: Record<string, string> = { PATH: process.env.PATH ?? '', VIGIL_BEARER_TOKEN: 'systemd-token' };
    for (const e of directives(unitText).get('Environment') ?? []) {
      const eq = e.indexOf('=');
      env[e.slice(0, eq)] = e.slice(eq + 1);
    }
    const loaded = await loadConfig([path.join(root, 'deploy/pipelines.container.yaml')], components, env);
    expect(loaded.errors.map(formatConfigError)).toEqual([]);
    const cfg = loaded.config!;
    const listeners: [string, unknown][] = [['service.telemetry.endpoint', cfg.service.telemetry?.endpoint]];
    // every `endpoint` under receivers (protocols included) and under the exporters that listen (prometheus)
    const walk = (at: string, v: unknown): void => {
      if (!v || typeof v !== 'object') return;
      for (const [k, x] of Object.entries(v)) {
        if (k === 'endpoint') listeners.push([`${at}.${k}`, x]);
        else walk(`${at}.${k}`, x);
      }
    };
    walk('receivers', cfg.receivers);
    for (const [id, c] of Object.entries(cfg.exporters)) if (id.split('/')[0] === 'prometheus') walk(`exporters.${id}`, c);
    // otlp grpc and http, http_json, prometheus, telemetry: a listener the walk missed would go unchecked
    expect(listeners.map(([k]) => k).sort()).toEqual(['exporters.prometheus.endpoint', 'receivers.http_json.endpoint', 'receivers.otlp.protocols.grpc.endpoint', 'receivers.otlp.protocols.http.endpoint', 'service.telemetry.endpoint']);
    const open = listeners.filter(([, e]) => !/^(127\.0\.0\.1|localhost|\[::1\]):\d+$/.test(String(e)));
    expect(open.map(([k, e]) => `${k}: ${String(e)}`)).toEqual([]);
  });

  it.skipIf(!analyze)('passes systemd-analyze verify without a word', () => {
    const r = verify(writeUnit(unitText));
    expect(r.output).toBe('');
    expect(r.status).toBe(0);
  });

  it.skipIf(!analyze)('would catch a misspelt key or a bad value', () => {
    const broken = unitText.replace('ProtectHome=yes', 'ProtectHome=maybe\nProtectHomme=yes');
    const r = verify(writeUnit(broken, 'vigil-broken.service'));
    expect(r.output).toContain('ProtectHomme');
    expect(r.output).toMatch(/protect home value/i);
  });

  it.skipIf(!analyze)('rates low on systemd-analyze security', () => {
    const out = execFileSync(analyze!, ['security', '--offline=true', '--no-pager', writeUnit(unitText)], { encoding: 'utf8' });
    const m = /Overall exposure level for vigil\.service: ([\d.]+)/.exec(out);
    expect(m, out).not.toBeNull();
    expect(Number(m![1])).toBeLessThanOrEqual(2.0);
  });

  it.skipIf(!analyze || !strace)('allows every system call a running vigil makes (strace of a real run against SystemCallFilter)', async () => {
    // the groups as this systemd defines them, expanded (groups name other groups)
    const groups = new Map<string, string[]>();
    let current: string[] | undefined;
    for (const line of execFileSync(analyze!, ['syscall-filter', '--no-pager'], { encoding: 'utf8' }).split('\n')) {
      if (/^@\S+/.test(line)) groups.set(line.split(/\s+/)[0]!, (current = []));
      else if (current && line.trim() && !line.trim().startsWith('#')) current.push(line.trim());
    }
    const expand = (names: string[], seen = new Set<string>()): Set<string> => {
      const out = new Set<string>();
      for (const n of names) {
        if (!n.startsWith('@')) out.add(n);
        else if (!seen.has(n)) {
          seen.add(n);
          for (const x of expand(groups.get(n) ?? [], seen)) out.add(x);
        }
      }
      return out;
    };
    const filters = directives(unitText).get('SystemCallFilter')!;
    const allowed = expand(filters.filter((f) => !f.startsWith('~')).flatMap((f) => f.split(/\s+/)));
    const denied = expand(filters.filter((f) => f.startsWith('~')).flatMap((f) => f.slice(1).split(/\s+/)));
    expect(allowed.has('read')).toBe(true);

    const [grpc, http, json, tel] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const trace = path.join(dir, 'strace.out');
    const root = path.resolve(import.meta.dirname, '..');
    const proc = spawn(strace!, ['-f', '-qq', '-o', trace, process.execPath, 'bin/vigil.js', 'run', '--config', 'deploy/pipelines.container.yaml'], {
      cwd: root,
      stdio: 'ignore',
      env: {
        ...process.env,
        VIGIL_OTLP_GRPC_ENDPOINT: `127.0.0.1:${grpc}`,
        VIGIL_OTLP_HTTP_ENDPOINT: `127.0.0.1:${http}`,
        VIGIL_HTTP_JSON_ENDPOINT: `127.0.0.1:${json}`,
        VIGIL_TELEMETRY_ENDPOINT: `127.0.0.1:${tel}`,
        VIGIL_PROMETHEUS_ENDPOINT: '127.0.0.1:0',
        VIGIL_STATE_DIR: path.join(dir, 'state'),
        VIGIL_BEARER_TOKEN: 'systemd-token',
      },
    });
    const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
    try {
      await waitFor(() => fetch(`http://127.0.0.1:${tel}/readyz`).then((r) => r.status === 200, () => false), 30_000, 'vigil under strace to be ready');
      const body = fs.readFileSync(path.join(root, 'test/fixtures/otlp-examples/trace.json'), 'utf8');
      expect((await fetch(`http://127.0.0.1:${http}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer systemd-token' }, body })).status).toBe(200);
      await (await fetch(`http://127.0.0.1:${tel}/metrics`, { headers: { authorization: 'Bearer systemd-token' } })).text();
      // SIGTERM to node itself (strace's child), as systemd's KillSignal would send it
      const child = spawnSync('pgrep', ['-P', String(proc.pid)], { encoding: 'utf8' }).stdout.trim().split('\n')[0];
      expect(child).toMatch(/^\d+$/);
      process.kill(Number(child), 'SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (proc.exitCode === null) proc.kill('SIGKILL');
    }
    const used = new Set<string>();
    for (const line of fs.readFileSync(trace, 'utf8').split('\n')) {
      const m = /^\d+\s+([a-z_0-9]+)\(/.exec(line);
      if (m) used.add(m[1]!);
    }
    expect(used.size).toBeGreaterThan(20);
    expect([...used].filter((c) => !allowed.has(c) || denied.has(c)).sort()).toEqual([]);
  }, 60_000);
});
