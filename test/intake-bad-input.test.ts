/**
 * The otlp receiver against bad and hostile input, over HTTP and gRPC: every case gets its proper status
 * and message, and the receiver keeps serving the next request. Also: fixtures posted as-is, partial
 * success, overload, auth, TLS and mutual TLS.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import path from 'node:path';
import zlib from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { Agent, request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { otlpReceiverFactory } from '../receivers/otlp/index.ts';
import type { OtlpReceiver } from '../receivers/otlp/otlp-receiver.ts';
import { permanentError, retryableError } from '../src/errors.ts';
import { fromOtlpJson, type OtlpSignal } from '../src/otlp/json.ts';
import { UNDECODED_ID, decodeExportResponse, decodeRpcStatus, encodeExportRequest } from '../src/otlp/proto.ts';
import { closeClientConnections, configFor, SinkConsumer, tempDir, testSettings } from './helpers/index.ts';
import { FIXTURES_LIST, fixturePath, readFixtureFile } from './intake-fixtures.ts';

const receivers: OtlpReceiver[] = [];
afterEach(async () => {
  await closeClientConnections();
  await Promise.all(receivers.splice(0).map((r) => r.shutdown()));
});

async function start(raw: Record<string, unknown> = {}, sink = new SinkConsumer()) {
  const config = configFor(otlpReceiverFactory, { protocols: { grpc: { endpoint: '127.0.0.1:0' }, http: { endpoint: '127.0.0.1:0' } }, ...raw });
  const r = otlpReceiverFactory.create(testSettings('receiver', 'otlp', { emit: sink }), config) as OtlpReceiver;
  await r.start();
  receivers.push(r);
  return { r, sink, base: `http://${r.httpAddress}` };
}

async function post(url: string, body: string | Buffer, headers: Record<string, string>, dispatcher?: Agent) {
  const res = await request(url, { method: 'POST', body, headers, dispatcher });
  const bytes = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, headers: res.headers, bytes, text: bytes.toString('utf8') };
}
const PB = { 'content-type': 'application/x-protobuf' };
const JS = { 'content-type': 'application/json' };
const fixtureBatch = (signal: OtlpSignal, file: string) => fromOtlpJson(signal, readFixtureFile(file));
const traceBytes = () => encodeExportRequest(fixtureBatch('traces', 'trace.json'), 'traces');

/** Sends raw bytes to a gRPC Export method; resolves with the error (or null) and the response. */
function grpcExport(address: string, signal: OtlpSignal, body: Buffer, opts: { metadata?: Record<string, string>; creds?: grpc.ChannelCredentials; gzip?: boolean } = {}) {
  const svc = { traces: 'trace.v1.TraceService', metrics: 'metrics.v1.MetricsService', logs: 'logs.v1.LogsService' }[signal];
  const client = new grpc.Client(address, opts.creds ?? grpc.credentials.createInsecure(), {
    'grpc.default_compression_algorithm': opts.gzip ? grpc.compressionAlgorithms.gzip : grpc.compressionAlgorithms.identity,
    'grpc.max_send_message_length': -1,
  });
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(opts.metadata ?? {})) md.set(k, v);
  return new Promise<{ err: grpc.ServiceError | null; resp?: Buffer }>((resolve) => {
    client.makeUnaryRequest(`/opentelemetry.proto.collector.${svc}/Export`, (b: Buffer) => b, (b: Buffer) => b, body, md, { deadline: Date.now() + 10_000 }, (err, resp) => {
      client.close();
      resolve({ err, resp });
    });
  });
}

/** A raw TCP connection to `host:port`, connected, and everything it receives until it closes. */
async function rawConnection(address: string): Promise<{ socket: net.Socket; reply: Promise<string> }> {
  const [host, port] = address.split(':');
  const socket = net.connect(Number(port), host);
  const reply = new Promise<string>((resolve) => {
    let data = '';
    socket.on('data', (d) => (data += d.toString()));
    socket.on('close', () => resolve(data));
    socket.on('error', () => resolve(data));
  });
  await new Promise<void>((r2) => socket.once('connect', () => r2()));
  return { socket, reply };
}

describe('otlp receiver: the official OTLP/JSON examples', () => {
  it.each(FIXTURES_LIST)('accepts %s posted as-is, as JSON and as protobuf', async (file, signal) => {
    const { sink, base } = await start();
    const res = await post(`${base}/v1/${signal}`, fs.readFileSync(fixturePath(file)), JS);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(JSON.parse(res.text)).toEqual({});
    const expected = fixtureBatch(signal, file);
    expect(sink.batches[0]).toEqual(expected);
    const pb = await post(`${base}/v1/${signal}`, encodeExportRequest(expected, signal), PB);
    expect(pb.status).toBe(200);
    expect(pb.headers['content-type']).toBe('application/x-protobuf');
    expect(decodeExportResponse(pb.bytes)).toEqual({ rejected: 0, errorMessage: '' });
    expect(sink.batches[1]).toEqual(expected);
  });
});

describe('otlp receiver: bad input over HTTP', () => {
  it('answers each bad request with its status and message, and keeps serving', async () => {
    const { sink, base } = await start({ max_request_body_size: 64 * 1024 });
    const url = `${base}/v1/traces`;
    const good = traceBytes();

    const truncated = await post(url, good.subarray(0, good.length - 9), PB);
    expect(truncated.status).toBe(400);
    expect(truncated.headers['content-type']).toBe('application/x-protobuf');
    expect(decodeRpcStatus(truncated.bytes)).toEqual({ code: 3, message: expect.stringMatching(/^invalid OTLP\/protobuf traces request: resource_spans\[0\]: length \d+ exceeds/) });

    const random = await post(url, Buffer.from([0x0a, 0x05, 0xff, 0xff, 0xff, 0xff, 0xff]), PB);
    expect(random.status).toBe(400);
    expect(decodeRpcStatus(random.bytes).message).toMatch(/resource_spans\[0\]/);

    const badJson = await post(url, '{"resourceSpans": [', JS);
    expect(badJson.status).toBe(400);
    expect(JSON.parse(badJson.text)).toEqual({ code: 3, message: expect.stringMatching(/^invalid OTLP\/JSON traces request: invalid JSON/) });

    const wrongTypes = await post(url, JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: 42 }] }] }] }), JS);
    expect(wrongTypes.status).toBe(400);
    expect(JSON.parse(wrongTypes.text).message).toBe(
      'invalid OTLP/JSON traces request: resourceSpans[0].scopeSpans[0].spans[0].traceId: expected 32 hex characters, got number 42',
    );

    const wrongType = await post(url, good, { 'content-type': 'text/plain' });
    expect(wrongType.status).toBe(415);
    expect(JSON.parse(wrongType.text).message).toMatch(/unsupported Content-Type "text\/plain"/);

    const deflate = await post(url, zlib.deflateSync(good), { ...PB, 'content-encoding': 'br' });
    expect(deflate.status).toBe(415);

    const notFound = await post(`${base}/v1/profiles`, good, PB);
    expect(notFound.status).toBe(404);
    const get = await request(url, { method: 'GET' });
    await get.body.text();
    expect(get.statusCode).toBe(405);
    expect(get.headers.allow).toBe('POST');

    const big = await post(url, Buffer.alloc(100 * 1024), PB);
    expect(big.status).toBe(413);
    expect(decodeRpcStatus(big.bytes).message).toMatch(/exceeds max_request_body_size \(65536 bytes\)/);

    const badGzip = await post(url, Buffer.from('not gzip at all'), { ...PB, 'content-encoding': 'gzip' });
    expect(badGzip.status).toBe(400);
    expect(decodeRpcStatus(badGzip.bytes).message).toMatch(/invalid gzip body/);

    expect(sink.batches).toHaveLength(0);
    const ok = await post(url, zlib.gzipSync(good), { ...PB, 'content-encoding': 'gzip' });
    expect(ok.status).toBe(200);
    expect(sink.spans).toHaveLength(1);
  });

  it('refuses a gzip bomb (1 GiB of zeros in ~1 MB) by its decompressed size without inflating it all', async () => {
    const { sink, base } = await start();
    const member = zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
    const bomb = Buffer.concat(Array.from({ length: 16 }, () => member)); // gzip members concatenate: 1 GiB inflated
    expect(bomb.length).toBeLessThan(2 * 1024 * 1024);
    const before = process.memoryUsage().rss;
    const res = await post(`${base}/v1/logs`, bomb, { ...PB, 'content-encoding': 'gzip' });
    expect(res.status).toBe(413);
    expect(decodeRpcStatus(res.bytes).message).toMatch(/exceeds max_request_body_size \(4194304 bytes after decompression\)/);
    expect(process.memoryUsage().rss - before).toBeLessThan(256 * 1024 * 1024);
    const next = await post(`${base}/v1/traces`, traceBytes(), PB);
    expect(next.status).toBe(200);
    expect(sink.spans).toHaveLength(1);
  });

  it('times out a slow client with 408 and keeps serving others', async () => {
    const { sink, base, r } = await start({ read_timeout: '300ms' });
    const { socket, reply } = await rawConnection(r.httpAddress);
    socket.write('POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nContent-Length: 1000\r\n\r\n');
    socket.write(Buffer.alloc(10));
    // Meanwhile a normal client is served.
    expect((await post(`${base}/v1/traces`, traceBytes(), PB)).status).toBe(200);
    const text = await reply;
    expect(text).toMatch(/^HTTP\/1\.1 408/);
    expect(text).toMatch(/read_timeout/);
    expect(sink.spans).toHaveLength(1);
  });

  it('answers a connection whose headers trickle in, or never come, with 408 by read_timeout; oversized headers 431; garbage 400', async () => {
    const { sink, base, r } = await start({ read_timeout: '1s' });
    const connect = () => rawConnection(r.httpAddress);
    const idle = await connect();
    const trickle = await connect();
    trickle.socket.write('POST /v1/traces HTTP/1.1\r\nHost: x\r\n');
    const drip = setInterval(() => trickle.socket.writable && trickle.socket.write('X-Slow: 1\r\n'), 100);
    const huge = await connect();
    huge.socket.write(`POST /v1/traces HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`);
    const garbage = await connect();
    garbage.socket.write('HELLO THERE\r\n\r\n');
    try {
      for (const c of [idle, trickle]) {
        const text = await c.reply;
        expect(text).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
        expect(text).toMatch(/request headers not received within read_timeout \(1000 ms\)/);
      }
    } finally {
      clearInterval(drip);
    }
    expect(await huge.reply).toMatch(/^HTTP\/1\.1 431 /);
    expect(await garbage.reply).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n[^]*bad HTTP request: /);
    expect((await post(`${base}/v1/traces`, traceBytes(), PB)).status).toBe(200);
    expect(sink.spans).toHaveLength(1);
  });

  it('reports partial success for spans without ids, keeping the valid ones', async () => {
    const { sink, base } = await start();
    const body = JSON.stringify({
      resourceSpans: [{ scopeSpans: [{ spans: [
        { traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174', name: 'good' },
        { spanId: 'eee19b7ec3c1b175', name: 'no trace id' },
        { traceId: '00000000000000000000000000000000', spanId: 'eee19b7ec3c1b176', name: 'zero trace id' },
      ] }] }],
    });
    const res = await post(`${base}/v1/traces`, body, JS);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({ partialSuccess: { rejectedSpans: '2', errorMessage: '2 spans without a valid trace_id or span_id were rejected' } });
    expect(sink.spans.map((s) => s.name)).toEqual(['good']);
    const pb = await post(`${base}/v1/traces`, encodeExportRequest(fromOtlpJson('traces', JSON.parse(body)), 'traces'), PB);
    expect(decodeExportResponse(pb.bytes)).toEqual({ rejected: 2, errorMessage: expect.stringMatching(/^2 spans/) });
  });

  it('rejects the same spans when nothing downstream reads ids or attributes (no hex made, attributes left out)', async () => {
    // a pipeline that only counts spans: the decoder checks the ids and token counts but builds neither ids nor other attributes
    const counting = Object.assign(new SinkConsumer(), { spanReads: { attributes: [], ids: false } });
    const { sink, base } = await start({}, counting);
    const attributes = [{ key: 'gen_ai.request.model', value: { stringValue: 'gpt-4o' } }];
    const body = {
      resourceSpans: [{ scopeSpans: [{ spans: [
        { traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174', name: 'good', attributes },
        { spanId: 'eee19b7ec3c1b175', name: 'no trace id', attributes },
        { traceId: '00000000000000000000000000000000', spanId: 'eee19b7ec3c1b176', name: 'zero trace id', attributes },
        { traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b177', name: 'bad tokens', attributes: [{ key: 'gen_ai.usage.input_tokens', value: { intValue: '-3' } }] },
      ] }] }],
    };
    const pb = await post(`${base}/v1/traces`, encodeExportRequest(fromOtlpJson('traces', body), 'traces'), PB);
    expect(pb.status).toBe(200);
    expect(decodeExportResponse(pb.bytes)).toEqual({ rejected: 3, errorMessage: expect.stringMatching(/^3 spans without a valid trace_id or span_id or spans with a token count out of range \(first: gen_ai.usage.input_tokens/) });
    expect(sink.spans.map((s) => [s.name, s.traceId, s.spanId, s.attributes])).toEqual([['good', UNDECODED_ID, UNDECODED_ID, []]]);
  });

  it('answers overload with 503 + Retry-After, a permanent refusal with 400, never a silent drop', async () => {
    const { sink, base } = await start();
    sink.fail = retryableError('memory limit reached', 2500);
    const busy = await post(`${base}/v1/traces`, traceBytes(), PB);
    expect(busy.status).toBe(503);
    expect(busy.headers['retry-after']).toBe('3');
    expect(decodeRpcStatus(busy.bytes)).toMatchObject({ code: 14, message: expect.stringMatching(/memory limit reached/) });
    sink.fail = new Error('something odd');
    const odd = await post(`${base}/v1/traces`, traceBytes(), PB);
    expect(odd.status).toBe(503);
    expect(odd.headers['retry-after']).toBe('1');
    sink.fail = permanentError('schema mismatch');
    const perm = await post(`${base}/v1/traces`, traceBytes(), PB);
    expect(perm.status).toBe(400);
    expect(decodeRpcStatus(perm.bytes).message).toMatch(/schema mismatch/);
  });

  it('requires the bearer token when configured', async () => {
    const { sink, base } = await start({ auth: { bearer_token: 'tok' } });
    expect((await post(`${base}/v1/traces`, traceBytes(), PB)).status).toBe(401);
    expect((await post(`${base}/v1/traces`, traceBytes(), { ...PB, authorization: 'Bearer nope' })).status).toBe(401);
    expect((await post(`${base}/v1/traces`, traceBytes(), { ...PB, authorization: 'Bearer tok' })).status).toBe(200);
    expect(sink.spans).toHaveLength(1);
  });
});

describe('otlp receiver: bad input over gRPC', () => {
  it('maps each case to its gRPC status and keeps serving', async () => {
    const { sink, r } = await start({ max_request_body_size: 64 * 1024, auth: { bearer_token: 'tok' } });
    const auth = { metadata: { authorization: 'Bearer tok' } };
    const good = traceBytes();

    expect((await grpcExport(r.grpcAddress, 'traces', good)).err?.code).toBe(grpc.status.UNAUTHENTICATED);

    const truncated = await grpcExport(r.grpcAddress, 'traces', good.subarray(0, good.length - 9), auth);
    expect(truncated.err?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(truncated.err?.details).toMatch(/resource_spans\[0\]: length \d+ exceeds/);

    const big = await grpcExport(r.grpcAddress, 'traces', Buffer.alloc(100 * 1024), auth);
    expect(big.err?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(big.err?.metadata.get('grpc-status-details-bin')).toEqual([]);

    const bomb = await grpcExport(r.grpcAddress, 'logs', Buffer.alloc(8 * 1024 * 1024), { ...auth, gzip: true });
    expect(bomb.err?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);

    sink.fail = retryableError('queue full', 1500);
    const busy = await grpcExport(r.grpcAddress, 'traces', good, auth);
    expect(busy.err?.code).toBe(grpc.status.UNAVAILABLE);
    const details = busy.err!.metadata.get('grpc-status-details-bin')[0] as Buffer;
    expect(decodeRpcStatus(details)).toMatchObject({ code: grpc.status.UNAVAILABLE, retryDelayMs: 1500 });
    sink.fail = permanentError('no');
    expect((await grpcExport(r.grpcAddress, 'traces', good, auth)).err?.code).toBe(grpc.status.INVALID_ARGUMENT);
    sink.fail = undefined;

    const ok = await grpcExport(r.grpcAddress, 'traces', good, { ...auth, gzip: true });
    expect(ok.err).toBeNull();
    expect(decodeExportResponse(ok.resp!)).toEqual({ rejected: 0, errorMessage: '' });
    expect(sink.spans).toHaveLength(1);
  });
});

describe('otlp receiver: slow gRPC client', () => {
  it('ends a call whose message does not arrive within read_timeout with DEADLINE_EXCEEDED', async () => {
    const { sink, r } = await start({ read_timeout: '300ms' });
    const session = http2.connect(`http://${r.grpcAddress}`);
    session.on('error', () => undefined);
    const req = session.request({ ':method': 'POST', ':path': '/opentelemetry.proto.collector.trace.v1.TraceService/Export', 'content-type': 'application/grpc', te: 'trailers' });
    const status = new Promise<{ code: number; message: string }>((resolve) => {
      const take = (h: http2.IncomingHttpHeaders) => {
        if (h['grpc-status'] !== undefined) resolve({ code: Number(h['grpc-status']), message: decodeURIComponent(String(h['grpc-message'] ?? '')) });
      };
      req.on('response', take);
      req.on('trailers', take);
      req.on('data', () => undefined);
    });
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(1000, 1);
    req.write(Buffer.concat([prefix, Buffer.alloc(10)])); // 10 of the 1000 bytes announced, then nothing
    // Meanwhile, a complete call is served.
    expect((await grpcExport(r.grpcAddress, 'traces', traceBytes())).err).toBeNull();
    expect(await status).toEqual({ code: grpc.status.DEADLINE_EXCEEDED, message: 'request not received within read_timeout (300 ms)' });
    req.close();
    session.close();
    expect(sink.spans).toHaveLength(1);
  });
});

describe('otlp receiver: TLS and mutual TLS', () => {
  let dir: string;
  const f = (name: string) => path.join(dir, name);
  beforeAll(() => {
    dir = tempDir('vigil-tls-');
    const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=vigil-test-ca');
    for (const who of ['server', 'client']) {
      ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${who}.key`, '-out', `${who}.csr`, '-subj', `/CN=${who === 'server' ? 'localhost' : 'client'}`);
      fs.writeFileSync(f(`${who}.ext`), who === 'server' ? 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' : 'extendedKeyUsage=clientAuth\n');
      ssl('x509', '-req', '-in', `${who}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${who}.pem`, '-days', '1', '-extfile', `${who}.ext`);
    }
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('serves HTTPS and gRPC over TLS, and requires a client certificate signed by client_ca_file', async () => {
    const { sink, r } = await start({ tls: { cert_file: f('server.pem'), key_file: f('server.key'), client_ca_file: f('ca.pem') } });
    const ca = fs.readFileSync(f('ca.pem'));
    const withCert = new Agent({ connect: { ca, cert: fs.readFileSync(f('client.pem')), key: fs.readFileSync(f('client.key')) } });
    const noCert = new Agent({ connect: { ca } });
    const url = `https://${r.httpAddress}/v1/traces`;
    expect((await post(url, traceBytes(), PB, withCert)).status).toBe(200);
    await expect(post(url, traceBytes(), PB, noCert)).rejects.toThrow();
    const creds = grpc.credentials.createSsl(ca, fs.readFileSync(f('client.key')), fs.readFileSync(f('client.pem')));
    expect((await grpcExport(r.grpcAddress, 'traces', traceBytes(), { creds })).err).toBeNull();
    const noClientCert = await grpcExport(r.grpcAddress, 'traces', traceBytes(), { creds: grpc.credentials.createSsl(ca) });
    expect(noClientCert.err?.code).toBe(grpc.status.UNAVAILABLE);
    expect(sink.spans).toHaveLength(2);
    await Promise.all([withCert.close(), noCert.close()]);
  });

  it('refuses to start with a missing certificate file, naming it', async () => {
    const config = configFor(otlpReceiverFactory, { protocols: { http: { endpoint: '127.0.0.1:0' } }, tls: { cert_file: f('nope.pem'), key_file: f('server.key') } });
    const rcv = otlpReceiverFactory.create(testSettings('receiver', 'otlp'), config);
    await expect(rcv.start({ reportFatal: () => undefined })).rejects.toThrow(/cannot read tls.cert_file ".*nope.pem"/);
    await rcv.shutdown();
  });
});

describe('otlp receiver config', () => {
  it('serves only the protocols given, a null protocol meaning its defaults, and refuses none', () => {
    expect(otlpReceiverFactory.endpoints!(configFor(otlpReceiverFactory, {}))).toEqual(['localhost:4317', 'localhost:4318']);
    expect(otlpReceiverFactory.endpoints!(configFor(otlpReceiverFactory, { protocols: { http: {} } }))).toEqual(['localhost:4318']);
    expect(otlpReceiverFactory.endpoints!(configFor(otlpReceiverFactory, { protocols: { grpc: null } }))).toEqual(['localhost:4317']);
    expect(() => configFor(otlpReceiverFactory, { protocols: {} })).toThrow('protocols: enable at least one protocol: grpc or http');
    expect(() => configFor(otlpReceiverFactory, { protocols: { http: { endpoint: 'nope' } } })).toThrow(/expected host:port/);
    expect(() => configFor(otlpReceiverFactory, { tls: { cert_file: 'a.pem' } })).toThrow('tls.key_file: required when cert_file is set');
  });
});
