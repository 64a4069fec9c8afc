/**
 * Content codings of an HTTP request body (RFC 9110 section 8.4) at both HTTP receivers: gzip in any case and
 * as `x-gzip`, `deflate` (the zlib format, and a raw deflate stream as some clients send it), `identity`, a
 * list of codings undone last first (also from two header lines), an unknown coding named in the 415 (which
 * lists the known ones in `Accept-Encoding`), and
 * the size limit checked at every stage of the inflation.
 */
import zlib from 'node:zlib';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { httpJsonReceiverFactory } from '../receivers/http_json/index.ts';
import type { HttpJsonReceiver } from '../receivers/http_json/http-json-receiver.ts';
import { otlpReceiverFactory } from '../receivers/otlp/index.ts';
import type { OtlpReceiver } from '../receivers/otlp/otlp-receiver.ts';
import { fromOtlpJson } from '../src/otlp/json.ts';
import { decodeRpcStatus, encodeExportRequest } from '../src/otlp/proto.ts';
import { closeClientConnections, configFor, SinkConsumer, testSettings } from './helpers/index.ts';
import { readFixtureFile } from './intake-fixtures.ts';

const running: Array<OtlpReceiver | HttpJsonReceiver> = [];
afterEach(async () => {
  await closeClientConnections();
  await Promise.all(running.splice(0).map((r) => r.shutdown()));
});

async function startOtlp(raw: Record<string, unknown> = {}) {
  const sink = new SinkConsumer();
  const config = configFor(otlpReceiverFactory, { protocols: { http: { endpoint: '127.0.0.1:0' } }, ...raw });
  const r = otlpReceiverFactory.create(testSettings('receiver', 'otlp', { emit: sink }), config) as OtlpReceiver;
  await r.start();
  running.push(r);
  return { sink, url: `http://${r.httpAddress}/v1/traces` };
}

/** POSTs `body` with `headers` (an array value sends the header once per element). */
async function post(url: string, body: Buffer, headers: Record<string, string | string[]>) {
  const res = await request(url, { method: 'POST', body, headers });
  const bytes = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, headers: res.headers, bytes };
}

const PB = 'application/x-protobuf';
const good = () => Buffer.from(encodeExportRequest(fromOtlpJson('traces', readFixtureFile('trace.json')), 'traces'));
const rawDeflate = (b: Buffer) => zlib.deflateRawSync(b);

describe('HTTP content codings', () => {
  it.each<[string, string | string[], (b: Buffer) => Buffer]>([
    ['gzip in upper case', 'GZIP', (b) => zlib.gzipSync(b)],
    ['x-gzip (RFC 9110 8.4.1.3)', 'x-gzip', (b) => zlib.gzipSync(b)],
    ['deflate in the zlib format', 'deflate', (b) => zlib.deflateSync(b)],
    ['deflate as a raw deflate stream', 'deflate', rawDeflate],
    ['identity', 'identity', (b) => b],
    ['identity listed with gzip', 'identity, gzip', (b) => zlib.gzipSync(b)],
    ['gzip listed with identity', 'gzip,identity', (b) => zlib.gzipSync(b)],
    ['gzip applied twice', 'gzip, gzip', (b) => zlib.gzipSync(zlib.gzipSync(b))],
    ['two header lines', ['gzip', 'gzip'], (b) => zlib.gzipSync(zlib.gzipSync(b))],
    ['deflate then gzip, undone gzip first', 'deflate, gzip', (b) => zlib.gzipSync(zlib.deflateSync(b))],
    ['gzip then deflate, undone deflate first', 'gzip, deflate', (b) => zlib.deflateSync(zlib.gzipSync(b))],
  ])('takes %s', async (_name, coding, encode) => {
    const { sink, url } = await startOtlp();
    const res = await post(url, encode(good()), { 'content-type': PB, 'content-encoding': coding });
    expect(res.status).toBe(200);
    expect(sink.spans).toHaveLength(1);
    expect(sink.spans[0]!.name).toBe(fromOtlpJson('traces', readFixtureFile('trace.json')).resourceSpans![0]!.scopeSpans[0]!.spans[0]!.name);
  });

  it('refuses an unknown coding with 415 naming it and Accept-Encoding listing the known ones, and a body that is not what its coding says with 400', async () => {
    const { sink, url } = await startOtlp();
    const br = await post(url, zlib.brotliCompressSync(good()), { 'content-type': PB, 'content-encoding': 'br' });
    expect(br.status).toBe(415);
    expect(decodeRpcStatus(br.bytes)).toEqual({ code: 3, message: 'unsupported Content-Encoding "br": use gzip, deflate or identity' });
    // RFC 9110 section 15.5.16: a 415 for a content coding says which codings would have been taken
    expect(br.headers['accept-encoding']).toBe('gzip, deflate');
    const listed = await post(url, zlib.gzipSync(good()), { 'content-type': PB, 'content-encoding': 'gzip, zstd' });
    expect(listed.status).toBe(415);
    expect(decodeRpcStatus(listed.bytes).message).toBe('unsupported Content-Encoding "zstd" in "gzip, zstd": use gzip, deflate or identity');
    const stacked = await post(url, good(), { 'content-type': PB, 'content-encoding': 'gzip, gzip, gzip, gzip' });
    expect(stacked.status).toBe(415);
    expect(decodeRpcStatus(stacked.bytes).message).toMatch(/stacks 4 codings: at most 3/);
    expect(stacked.headers['accept-encoding']).toBe('gzip, deflate');
    const wrongType = await post(url, good(), { 'content-type': 'text/plain' });
    expect(wrongType.status).toBe(415);
    expect(wrongType.headers['accept-encoding']).toBeUndefined();
    const notDeflate = await post(url, Buffer.from('this is not deflate at all'), { 'content-type': PB, 'content-encoding': 'deflate' });
    expect(notDeflate.status).toBe(400);
    expect(decodeRpcStatus(notDeflate.bytes).message).toMatch(/^invalid deflate body: /);
    const empty = await post(url, Buffer.alloc(0), { 'content-type': PB, 'content-encoding': 'deflate' });
    expect(empty.status).toBe(400);
    expect(decodeRpcStatus(empty.bytes).message).toBe('invalid deflate body: unexpected end of file');
    expect(sink.batches).toHaveLength(0);
    const next = await post(url, good(), { 'content-type': PB });
    expect(next.status).toBe(200);
  });

  it('checks max_request_body_size on the inflated bytes of deflate, and at every stage of stacked codings', async () => {
    const { sink, url } = await startOtlp({ max_request_body_size: 64 * 1024 });
    const zeros = Buffer.alloc(8 * 1024 * 1024);
    const bomb = zlib.deflateSync(zeros, { level: 9 });
    const res = await post(url, bomb, { 'content-type': PB, 'content-encoding': 'deflate' });
    expect(res.status).toBe(413);
    expect(decodeRpcStatus(res.bytes).message).toBe('request body exceeds max_request_body_size (65536 bytes after decompression)');
    // gzip inside gzip: the inner stage inflates to 8 MiB
    const nested = zlib.gzipSync(zlib.gzipSync(zeros, { level: 9 }), { level: 0 });
    const deep = await post(url, nested, { 'content-type': PB, 'content-encoding': 'gzip, gzip' });
    expect(deep.status).toBe(413);
    // an outer stage that inflates past the limit into an inner one that makes nothing of it (20,000 empty
    // stored deflate blocks of 5 bytes each, then an empty final block): refused at the outer stage
    const inner = Buffer.concat([...Array.from({ length: 20_000 }, () => Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff])), Buffer.from([0x03, 0x00])]);
    expect(zlib.inflateRawSync(inner)).toHaveLength(0);
    const wide = await post(url, zlib.gzipSync(inner), { 'content-type': PB, 'content-encoding': 'deflate, gzip' });
    expect(wide.status).toBe(413);
    expect(decodeRpcStatus(wide.bytes).message).toBe('request body exceeds max_request_body_size (65536 bytes after decompression)');
    expect(sink.batches).toHaveLength(0);
  });

  it('applies to the http_json receiver too', async () => {
    const sink = new SinkConsumer();
    const r = httpJsonReceiverFactory.create(testSettings('receiver', 'http_json', { emit: sink }), configFor(httpJsonReceiverFactory, { endpoint: '127.0.0.1:0' })) as HttpJsonReceiver;
    await r.start();
    running.push(r);
    const event = Buffer.from(JSON.stringify({ kind: 'log', body: 'hello', service: 'svc' }));
    const res = await post(`http://${r.address}/v1/events`, zlib.deflateSync(event), { 'content-type': 'application/json', 'content-encoding': 'deflate' });
    expect(res.status).toBe(200);
    expect(sink.logRecords).toHaveLength(1);
    const gz = await post(`http://${r.address}/v1/events`, zlib.gzipSync(event), { 'content-type': 'application/json', 'content-encoding': 'identity, x-gzip' });
    expect(gz.status).toBe(200);
    expect(sink.logRecords).toHaveLength(2);
  });
});
