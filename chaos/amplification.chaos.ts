/**
 * Decoding amplification through the shipped sidecar config (deploy/kubernetes/sidecar.yaml, its NODE_OPTIONS heap cap):
 * OTLP/protobuf requests just under max_request_body_size (4 MiB) made of minimal valid spans (ids, a
 * one-letter name, times: ~52 bytes each, ~80,000 spans a request) decode into far more memory than their
 * bytes, many at once over HTTP and gRPC. Then ordinary traffic.
 * Figures: statuses, RSS over time, time until ordinary data is accepted again.
 * Invariants: no crash (no "heap out of memory"), RSS under the container's memory limit, no 500, ordinary
 * data accepted again within seconds.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Invariants, ROOT, SHORT, configFromManifest, nodeOptionsFromManifest, figure, freePort, loadavg, request, rssLine, sampleRss, sleep, startVigil, tally, tempDir, traceJson, writeYaml } from './lib.ts';

const inv = new Invariants('amplification');
const ROUNDS = SHORT ? 4 : 8;
const CONCURRENT = 16;
const HEAP_MIB = 192;

const dir = tempDir();
const [httpPort, grpcPort, tel, smtpPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
let slackPosts = 0;
const slack = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    slackPosts++;
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
});
await new Promise<void>((r) => slack.listen(0, '127.0.0.1', r));
const slackUrl = `http://127.0.0.1:${(slack.address() as import('node:net').AddressInfo).port}/services/T000/B000/XXXX`;

const manifest = path.join(ROOT, process.env.CHAOS_MANIFEST ?? 'deploy/kubernetes/sidecar.yaml');
const cfg = configFromManifest(manifest);
const nodeOptions = nodeOptionsFromManifest(manifest);
// The vigil container's memory limit (the first `limits:` of the manifest: vigil's own container comes first).
const limitMatch = /limits:\s*\{[^}]*memory:\s*(\d+)(Mi|Gi)/.exec(fs.readFileSync(manifest, 'utf8'));
const CONTAINER_LIMIT_MIB = limitMatch ? Number(limitMatch[1]) * (limitMatch[2] === 'Gi' ? 1024 : 1) : 256;
// Loopback and free ports instead of 0.0.0.0:4317/4318/8888, a temp dir instead of /var/lib/vigil.
cfg.receivers.otlp.protocols = { grpc: { ...cfg.receivers.otlp.protocols.grpc, endpoint: `127.0.0.1:${grpcPort}` }, http: { ...cfg.receivers.otlp.protocols.http, endpoint: `127.0.0.1:${httpPort}` } };
cfg.service.telemetry.endpoint = `127.0.0.1:${tel}`;
cfg.service.state_dir = path.join(dir, 'state');
for (const e of Object.values(cfg.exporters) as { path?: string; endpoint?: string }[]) {
  if (e.path) e.path = path.join(dir, path.basename(e.path));
  if (e.endpoint?.startsWith('0.0.0.0:')) e.endpoint = '127.0.0.1:0'; // a scrape endpoint (prometheus)
}
const config = writeYaml(path.join(dir, 'pipelines.yaml'), cfg);
const env = {
  SLACK_WEBHOOK_URL: slackUrl,
  SMTP_HOST: '127.0.0.1',
  SMTP_PORT: String(smtpPort),
  SMTP_USERNAME: 'vigil',
  SMTP_PASSWORD: 'chaos-password',
  ALERT_EMAIL_TO: 'oncall@example.com',
  OTLP_BEARER_TOKEN: 'chaos-token',
  VIGIL_BEARER_TOKEN: 'chaos-token',
};
figure('NODE_OPTIONS', `${nodeOptions || `--max-old-space-size=${HEAP_MIB}`} (from ${path.relative(ROOT, manifest)}; container limit ${CONTAINER_LIMIT_MIB} MiB)`);
figure('load average (start)', loadavg());
const vigil = await startVigil(config, tel, { dist: true, ...(nodeOptions ? { env: { ...env, NODE_OPTIONS: nodeOptions } } : { heapMiB: HEAP_MIB, env }) });
const rss = sampleRss(vigil.pid, 1000);
/** Protobuf varint. */
function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 127) {
    out.push((n & 127) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}
const field = (tag: number, body: Buffer) => Buffer.concat([Buffer.from([tag, ...varint(body.length)]), body]);
/** An ExportTraceServiceRequest of `n` minimal valid spans, distinct ids, ending now. */
function minimalSpans(n: number, seed: number): Buffer {
  const now = BigInt(Date.now()) * 1_000_000n;
  const spans: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const s = Buffer.alloc(49);
    s[0] = 0x0a; s[1] = 16; s.writeUInt32BE(seed, 2); s.writeUInt32BE(i + 1, 6); s.writeUInt32BE(0xabcdef, 10); s.writeUInt32BE(7, 14); // trace_id
    s[18] = 0x12; s[19] = 8; s.writeUInt32BE(seed, 20); s.writeUInt32BE(i + 1, 24); // span_id
    s[28] = 0x2a; s[29] = 1; s[30] = 0x78; // name "x"
    s[31] = 0x39; s.writeBigUInt64LE(now - 1_000_000n, 32); // start_time_unix_nano
    s[40] = 0x41; s.writeBigUInt64LE(now, 41); // end_time_unix_nano
    spans.push(field(0x12, s));
  }
  const scope = field(0x12, Buffer.concat(spans));
  const resource = field(0x0a, field(0x0a, field(0x0a, Buffer.concat([field(0x0a, Buffer.from('service.name')), field(0x12, field(0x0a, Buffer.from('amp')))]))));
  return field(0x0a, Buffer.concat([resource, scope]));
}
/**
 * The shapes that decode into the most memory per byte (measured with the decoder alone: spans ~8x; span
 * events ~20x; resource_spans of one span each ~18x; empty attributes ~26x). AMPLIFICATION_SHAPE picks one;
 * by default each round uses the next.
 */
const SHAPES = ['spans', 'events', 'resources', 'attributes'] as const;
type Shape = (typeof SHAPES)[number];
function amplified(shape: Shape, seed: number): Buffer {
  if (shape === 'spans') return minimalSpans(78_000, seed);
  const one = minimalSpans(1, seed);
  const span = one.subarray(one.length - 51 + 2); // the span's own bytes (49), after its tag and length
  if (shape === 'events') {
    const ev = field(0x5a, Buffer.from([0x12, 0x01, 0x65])); // Event{name: "e"}
    return field(0x0a, field(0x12, field(0x12, Buffer.concat([span, Buffer.concat(Array(790_000).fill(ev))]))));
  }
  if (shape === 'attributes') {
    const kv = field(0x4a, Buffer.alloc(0)); // an empty KeyValue
    return field(0x0a, field(0x12, field(0x12, Buffer.concat([span, Buffer.concat(Array(1_900_000).fill(kv))]))));
  }
  // resource_spans, each with an empty resource and one span
  const parts: Buffer[] = [];
  for (let i = 0; i < 70_000; i++) {
    const s = Buffer.from(span);
    s.writeUInt32BE(i + 1, 6);
    s.writeUInt32BE(i + 1, 24);
    parts.push(field(0x0a, Buffer.concat([field(0x0a, Buffer.alloc(0)), field(0x12, field(0x12, s))])));
  }
  return Buffer.concat(parts);
}
const only = process.env.AMPLIFICATION_SHAPE as Shape | undefined;
if (only && !SHAPES.includes(only)) throw new Error(`AMPLIFICATION_SHAPE must be one of ${SHAPES.join(', ')}`);
const shapeOf = (round: number): Shape => only ?? SHAPES[round % SHAPES.length]!;
for (const shape of only ? [only] : SHAPES) {
  const b = amplified(shape, 1);
  figure(`request (${shape})`, `${(b.length / 1048576).toFixed(2)} MiB of protobuf`);
}
const statuses: string[] = [];
const t0 = Date.now();
for (let r = 0; r < ROUNDS && !vigil.exited(); r++) {
  const batch = Array.from({ length: CONCURRENT }, (_, i) =>
    request(`http://127.0.0.1:${httpPort}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf', authorization: 'Bearer chaos-token' }, body: amplified(shapeOf(r), r * 100 + i + 2), timeoutMs: 30_000 }).then((x) => void statuses.push(x.status ? String(x.status) : `no answer (${x.error})`)),
  );
  await Promise.all(batch);
}
figure('amplified requests', `${ROUNDS} rounds of ${CONCURRENT} at once in ${((Date.now() - t0) / 1000).toFixed(1)} s; statuses ${JSON.stringify(tally(statuses))}`);
const end = Date.now();
const after: { t: number; status: string }[] = [];
while (Date.now() - end < 15_000 && !vigil.exited()) {
  const r = await request(`http://127.0.0.1:${httpPort}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer chaos-token' }, body: traceJson(20, { name: () => 'checkout' }), timeoutMs: 10_000 });
  after.push({ t: (Date.now() - end) / 1000, status: r.status ? String(r.status) : 'no answer' });
  await sleep(200);
}
const firstOk = after.find((a) => a.status === '200');
figure('after', `statuses ${JSON.stringify(tally(after.map((a) => a.status)))}; first 200 after ${firstOk ? `${firstOk.t.toFixed(1)} s` : 'never'}`);
const crashed = vigil.exited();
const code = await vigil.stop();
const samples = rss.stop();
figure('RSS MiB over time', rssLine(samples));
const oom = /heap out of memory/i.test(vigil.stderr());
if (crashed) {
  figure('stderr (tail)', vigil.stderr().slice(-600));
  if (process.env.AMPLIFICATION_STDERR) fs.writeFileSync(process.env.AMPLIFICATION_STDERR, vigil.stderr());
}
inv.check(!crashed && !oom, `no crash (${crashed ? `exited: ${code}${oom ? ', heap out of memory' : ''}` : 'still running'})`);
inv.check(Math.max(...samples.map((s) => s[1])) < CONTAINER_LIMIT_MIB, `RSS stayed under ${CONTAINER_LIMIT_MIB} MiB (max ${Math.max(...samples.map((s) => s[1]))})`);
inv.check(![...statuses, ...after.map((a) => a.status)].some((s) => s.startsWith('5') && s !== '503'), 'no 500');
inv.check(statuses.every((x) => !x.startsWith('no answer')), `every request answered (${statuses.filter((x) => x.startsWith('no answer')).length} not: a refusal must reach a client still sending its body)`);
inv.check(!!firstOk && firstOk.t < 10, 'ordinary data accepted again within 10 s');
slack.close();
fs.rmSync(dir, { recursive: true, force: true });
inv.finish();
