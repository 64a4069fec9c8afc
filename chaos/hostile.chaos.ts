/**
 * Hostile bodies: JSON nested thousands of levels deep, attributes nested deeper than any real span,
 * durations, timestamps and token counts out of range, mixed with good items in the same request.
 * Invariants: every hostile request gets 400 (permanent: never 500, never a retryable 429/503), the good
 * items next to a bad one are kept and reach the exporters, vigil stays up and still takes ordinary data.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import zlib from 'node:zlib';
import { Invariants, figure, freePort, loadavg, request, startVigil, tempDir, traceJson, writeYaml } from './lib.ts';

const inv = new Invariants('hostile');
const dir = tempDir();
const [otlpHttp, jsonPort, tel] = [await freePort(), await freePort(), await freePort()];

// An upstream for the otlp exporter that records what it receives (forwarded span names).
const forwarded: string[] = [];
const upstream = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    try {
      const raw = Buffer.concat(chunks);
      const o = JSON.parse((req.headers['content-encoding'] === 'gzip' ? zlib.gunzipSync(raw) : raw).toString('utf8')) as { resourceSpans?: { scopeSpans: { spans: { name: string }[] }[] }[] };
      for (const rs of o.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) for (const s of ss.spans ?? []) forwarded.push(s.name);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    } catch {
      res.writeHead(400).end();
    }
  });
});
await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
const upstreamPort = (upstream.address() as import('node:net').AddressInfo).port;

const out = path.join(dir, 'telemetry.jsonl');
const config = writeYaml(path.join(dir, 'pipelines.yaml'), {
  receivers: { otlp: { protocols: { http: { endpoint: `127.0.0.1:${otlpHttp}` } } }, http_json: { endpoint: `127.0.0.1:${jsonPort}` } },
  processors: {
    memory_limiter: { limit_mib: 512 },
    cost: { price_table: 'builtin' },
    percentiles: { window: '1s', dimensions: ['service.name', 'span.name'] },
  },
  exporters: {
    'file/telemetry': { path: out, signals: ['traces'] },
    otlp: { endpoint: `http://127.0.0.1:${upstreamPort}`, protocol: 'http/json', retry: { max_elapsed_time: '5s' } },
  },
  service: {
    state_dir: path.join(dir, 'state'),
    telemetry: { endpoint: `127.0.0.1:${tel}` },
    pipelines: { traces: { receivers: ['otlp', 'http_json'], processors: ['memory_limiter', 'cost', 'percentiles'], exporters: ['file/telemetry', 'otlp'] } },
  },
});
const vigil = await startVigil(config, tel);

const nest = (depth: number, open: string, close: string, inner = '1') => open.repeat(depth) + inner + close.repeat(depth);
/** OTLP/JSON AnyValue text nested `depth` levels deep (as text: too deep for JSON.stringify). */
const deepKvlist = (depth: number) => nest(depth, '{"kvlistValue":{"values":[{"key":"k","value":', '}]}}', '{"stringValue":"x"}');
const deepArray = (depth: number) => nest(depth, '{"arrayValue":{"values":[', ']}}', '{"stringValue":"x"}');
const withSpanAttr = (value: string, name = 'deep-attr') => {
  const t = traceJson(1, { name: () => name });
  return t.replace('"attributes":[]', `"attributes":[{"key":"nested","value":${value}}]`);
};
const spanEvent = (name: string, extra: Record<string, unknown> = {}) => ({ kind: 'span', name, service: 'hostile', duration_ms: 12, ...extra });

const otlp = (body: string) => request(`http://127.0.0.1:${otlpHttp}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
const events = (body: unknown) =>
  request(`http://127.0.0.1:${jsonPort}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });

type Case = { name: string; send: () => ReturnType<typeof request>; expect: number; good?: string };
const cases: Case[] = [
  { name: 'OTLP/JSON arrays nested 5,000 deep', send: () => otlp(`{"resourceSpans":${nest(5000, '[', ']')}}`), expect: 400 },
  { name: 'OTLP/JSON objects nested 100,000 deep', send: () => otlp(`{"resourceSpans":${nest(100_000, '{"a":', '}')}}`), expect: 400 },
  { name: 'OTLP/JSON attribute kvlist nested 2,000 deep', send: () => otlp(withSpanAttr(deepKvlist(2000))), expect: 400 },
  { name: 'OTLP/JSON attribute kvlist nested 200 deep', send: () => otlp(withSpanAttr(deepKvlist(200))), expect: 400 },
  { name: 'OTLP/JSON attribute arrays nested 5,000 deep', send: () => otlp(withSpanAttr(deepArray(5000))), expect: 400 },
  { name: 'OTLP/JSON attribute arrays nested 100,000 deep', send: () => otlp(withSpanAttr(deepArray(100_000))), expect: 400 },
  // each array holds a value: 300,000 JSON values, over http_json's max_request_items (200,000), refused before parsing
  { name: 'events: body nested 300,000 deep', send: () => events(nest(300_000, '[', ']')), expect: 413 },
  { name: 'events: body nested 100,000 deep', send: () => events(nest(100_000, '[', ']')), expect: 400 },
  { name: 'events: attributes nested 5,000 deep', send: () => events(JSON.stringify(spanEvent('x', { attributes: { a: '@DEEP@' } })).replace('"@DEEP@"', nest(5000, '{"a":', '}'))), expect: 400 },
  { name: 'events: duration_ms 1e308', send: () => events(spanEvent('huge', { duration_ms: 1e308 })), expect: 400 },
  { name: 'events: duration_ms 1e300', send: () => events(spanEvent('huge', { duration_ms: 1e300 })), expect: 400 },
  { name: 'events: timestamp 1e300', send: () => events(spanEvent('far', { timestamp: 1e300 })), expect: 400 },
  { name: 'events: timestamp year 99999', send: () => events(spanEvent('far', { timestamp: '+099999-01-01T00:00:00Z' })), expect: 400 },
  { name: 'events: metric value 1e400 (Infinity)', send: () => events('{"kind":"metric","name":"m","value":1e400}'), expect: 400 },
  { name: 'events: token count -5 and 1e30', send: () => events(spanEvent('tok', { attributes: { 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': -5, 'gen_ai.usage.output_tokens': 1e30 } })), expect: 400 },
  {
    name: 'events: one bad (duration 1e300) among good ones',
    send: () => events([spanEvent('good-1'), spanEvent('bad', { duration_ms: 1e300 }), spanEvent('good-2')]),
    expect: 200,
    good: 'good-1,good-2',
  },
  {
    name: 'events: one bad (timestamp 1e300) among good ones',
    send: () => events([spanEvent('good-3'), spanEvent('bad', { timestamp: 1e300 }), spanEvent('good-4')]),
    expect: 200,
    good: 'good-3,good-4',
  },
  {
    name: 'OTLP/JSON: one span with end before start and one with uint64-max end, among good ones',
    send: () => {
      const t = JSON.parse(traceJson(3, { name: (i) => ['good-5', 'bad-time', 'bad-time2'][i]! })) as { resourceSpans: { scopeSpans: { spans: Record<string, unknown>[] }[] }[] };
      const spans = t.resourceSpans[0]!.scopeSpans[0]!.spans;
      spans[1]!.endTimeUnixNano = '1';
      spans[2]!.endTimeUnixNano = '18446744073709551615';
      return otlp(JSON.stringify(t));
    },
    expect: 200,
    good: 'good-5',
  },
  {
    name: 'OTLP/JSON: a span with input_tokens -1e18 among good ones',
    send: () => otlp(traceJson(2, { name: (i) => (i ? 'good-6' : 'bad-tokens'), attrs: (i) => (i ? { 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 10 } : { 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': -1e18 }) })),
    expect: 200,
    good: 'good-6',
  },
];

figure('load average', loadavg());
const statuses: Record<string, number> = {};
const wantGood: string[] = [];
for (const c of cases) {
  const r = await c.send();
  statuses[c.name] = r.status;
  const retryable = r.status === 429 || r.status === 503 || r.status === 0 || r.status >= 500;
  console.log(`  ${String(r.status).padEnd(3)} ${Math.round(r.ms)} ms  ${c.name}  ${r.body.slice(0, 160).replace(/\s+/g, ' ')}`);
  inv.check(r.status === c.expect, `${c.name}: ${c.expect} (got ${r.status})`);
  inv.check(!retryable, `${c.name}: not a 5xx/retryable answer`);
  if (c.good && r.status === 200) wantGood.push(...c.good.split(','));
}
// Ordinary data still flows after all that.
const normal = await otlp(traceJson(5, { name: () => 'after-hostile' }));
inv.check(normal.status === 200, `an ordinary request afterwards: 200 (got ${normal.status})`);
wantGood.push('after-hostile');

const deadline = Date.now() + 8000;
const namesInFile = () => (fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '');
while (Date.now() < deadline && !wantGood.every((n) => namesInFile().includes(`"${n}"`) && forwarded.includes(n))) await new Promise((r) => setTimeout(r, 200));
for (const n of wantGood) {
  inv.check(namesInFile().includes(`"${n}"`), `good item ${n} written by the file exporter`);
  inv.check(forwarded.includes(n), `good item ${n} forwarded by the otlp exporter`);
}
const dlq = fs.existsSync(path.join(dir, 'state')) ? fs.readdirSync(path.join(dir, 'state'), { recursive: true }).filter((f) => String(f).includes('dead')) : [];
figure('dead-letter files', dlq);
for (const f of dlq) figure(`  ${String(f)}`, fs.readFileSync(path.join(dir, 'state', String(f)), 'utf8').slice(0, 400));
inv.check(!vigil.exited(), 'vigil still running');
const code = await vigil.stop();
inv.check(code === '0', `clean exit on SIGTERM (got ${code})`);
upstream.close();
inv.finish();
