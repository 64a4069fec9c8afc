/**
 * What a vigil forwards is what came in, field for field: requests with every OTLP field set (encoded by
 * protobufjs, not by vigil) are posted to a running pipeline whose `file` exporter makes the receiver decode
 * them, and its `otlp` exporter sends them on to an upstream on loopback, which reads them back with protobufs
 * own decoder. Also with the data passed through undecoded (no component reads it): byte for byte.
 */
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import zlib from 'node:zlib';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import type { Service } from '../src/service.ts';
import type { OtlpSignal } from '../src/otlp/json.ts';
import { closeClientConnections, tempDir, waitFor } from './helpers/index.ts';
import { freePort } from './helpers/free-port.ts';
import { startService } from './helpers/service.ts';
import { fullRequest, readOtlp } from './otlp-full-requests.ts';

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  await closeClientConnections();
  for (const stop of stops.splice(0).reverse()) await stop();
});

/** An OTLP/HTTP upstream on loopback that keeps each request's (gunzipped) body by path. */
async function upstream(): Promise<{ url: string; got: Map<string, Buffer> }> {
  const got = new Map<string, Buffer>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      got.set(req.url!, req.headers['content-encoding'] === 'gzip' ? zlib.gunzipSync(body) : body);
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  stops.push(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, got };
}

async function forwarder(upstreamUrl: string, decode: boolean): Promise<{ base: string; out: string }> {
  const dir = tempDir();
  const port = await freePort();
  const exporters = decode ? '[otlp/up, file]' : '[otlp/up]';
  const service: Service = await startService(
    dir,
    `receivers:
  otlp:
    protocols:
      http: {endpoint: "127.0.0.1:${port}"}
exporters:
  otlp/up:
    endpoint: ${upstreamUrl}
    protocol: http/protobuf
    sending_queue: {storage: memory}
  file:
    path: ${path.join(dir, 'out.jsonl')}
service:
  state_dir: ${path.join(dir, 'state')}
  telemetry: {endpoint: "127.0.0.1:0", logs: {level: error}}
  pipelines:
    traces: {receivers: [otlp], exporters: ${exporters}}
    metrics: {receivers: [otlp], exporters: ${exporters}}
    logs: {receivers: [otlp], exporters: ${exporters}}
`,
  );
  stops.push(async () => {
    await service.shutdown();
  });
  return { base: `http://127.0.0.1:${port}`, out: path.join(dir, 'out.jsonl') };
}

describe('forwarding keeps every field', () => {
  it.each([
    ['decoded (a file exporter reads the data)', true],
    ['passed through undecoded', false],
  ])('%s', async (_name, decode) => {
    const up = await upstream();
    const { base, out } = await forwarder(up.url, decode);
    const signals: OtlpSignal[] = ['traces', 'metrics', 'logs'];
    for (const signal of signals) {
      const { bytes } = fullRequest(signal);
      const res = await request(`${base}/v1/${signal}`, { method: 'POST', body: Buffer.from(bytes), headers: { 'content-type': 'application/x-protobuf' } });
      expect(res.statusCode).toBe(200);
      await res.body.arrayBuffer();
    }
    await waitFor(() => up.got.size === 3, 10_000);
    for (const signal of signals) {
      const { type, bytes } = fullRequest(signal);
      const forwarded = up.got.get(`/v1/${signal}`)!;
      expect(readOtlp(type, forwarded)).toEqual(readOtlp(type, bytes));
      if (!decode) expect(forwarded.equals(Buffer.from(bytes))).toBe(true);
    }
    // the decoded case went through the model: the file exporter wrote the span it read
    if (decode) await waitFor(() => fs.existsSync(out) && fs.readFileSync(out, 'utf8').includes('"eventName":"my.event"'), 10_000);
  });
});
