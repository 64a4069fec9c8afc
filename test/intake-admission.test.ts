/**
 * Admission control and connection hygiene at the receivers: beyond max_requests_in_flight a request is
 * answered at once with HTTP 429 + Retry-After / gRPC RESOURCE_EXHAUSTED with RetryInfo (OTLP's retryable
 * answers) instead of queueing; a listener over max_connections closes new connections and counts them;
 * a connection that sends no request within read_timeout is closed.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { otlpReceiverFactory } from '../receivers/otlp/index.ts';
import type { OtlpReceiver } from '../receivers/otlp/otlp-receiver.ts';
import type { Consumer } from '../src/component.ts';
import type { Batch } from '../src/model.ts';
import { Admission, defaultMaxConnections, loopBehindMs, intakeTurn } from '../src/otlp/connections.ts';
import { CLIENT_GONE, IntakeError, deliver } from '../src/otlp/intake.ts';
import { parseOtlpJson } from '../src/otlp/json.ts';
import { decodeRpcStatus, encodeExportRequest } from '../src/otlp/proto.ts';
import { ServiceTelemetry } from '../src/telemetry.ts';
import { closeClientConnections, configFor, recordingLogger, testSettings, waitFor } from './helpers/index.ts';
import { counterValue } from './percentiles-helpers.ts';

const TRACE = '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"op"}]}]}]}';

/** A consumer that holds every batch until `open()`. */
class GateConsumer implements Consumer {
  batches: Batch[] = [];
  private waiting: (() => void)[] = [];
  private opened = false;
  async consume(batch: Batch): Promise<void> {
    if (!this.opened) await new Promise<void>((r) => this.waiting.push(r));
    this.batches.push(batch);
  }
  get held(): number {
    return this.waiting.length;
  }
  open(): void {
    this.opened = true;
    for (const w of this.waiting.splice(0)) w();
  }
}

const running: OtlpReceiver[] = [];
afterEach(async () => {
  await closeClientConnections();
  await Promise.all(running.splice(0).map((r) => r.shutdown()));
});

async function start(raw: Record<string, unknown>, telemetry = new ServiceTelemetry()) {
  const gate = new GateConsumer();
  const settings = testSettings('receiver', 'otlp', { emit: gate });
  const r = otlpReceiverFactory.create(
    { ...settings, telemetry: telemetry.forComponent('receiver', 'otlp') },
    configFor(otlpReceiverFactory, { protocols: { grpc: { endpoint: '127.0.0.1:0' }, http: { endpoint: '127.0.0.1:0' } }, ...raw }),
  ) as OtlpReceiver;
  await r.start();
  running.push(r);
  return { r, gate, telemetry, url: `http://${r.httpAddress}/v1/traces` };
}

const post = (url: string) => request(url, { method: 'POST', body: TRACE, headers: { 'content-type': 'application/json' } }).then(async (res) => ({ status: res.statusCode, headers: res.headers, text: await res.body.text() }));

function grpcExport(address: string) {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const body = encodeExportRequest(parseOtlpJson('traces', TRACE), 'traces');
  return new Promise<grpc.ServiceError | null>((resolve) =>
    client.makeUnaryRequest('/opentelemetry.proto.collector.trace.v1.TraceService/Export', (b: Buffer) => b, (b: Buffer) => b, body, new grpc.Metadata(), (e) => {
      client.close();
      resolve(e);
    }),
  );
}

describe('admission control', () => {
  it('refuses requests beyond max_requests_in_flight at once: HTTP 429 + Retry-After, gRPC RESOURCE_EXHAUSTED + RetryInfo; admits again once they drain', async () => {
    const { r, gate, url } = await start({ max_requests_in_flight: 2 });
    const held = [post(url), post(url)];
    await waitFor(() => gate.held === 2, 5000, 'two requests held by the pipeline');
    const refused = await post(url);
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('1');
    expect(JSON.parse(refused.text)).toEqual({ code: grpc.status.RESOURCE_EXHAUSTED, message: expect.stringContaining('too many requests in flight (max_requests_in_flight 2') });
    const err = await grpcExport(r.grpcAddress);
    expect(err?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    const details = err!.metadata.get('grpc-status-details-bin')[0] as Buffer;
    expect(decodeRpcStatus(details)).toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED, retryDelayMs: 1000 });
    expect(r.admission.inFlight).toBe(2);
    gate.open();
    expect((await Promise.all(held)).map((x) => x.status)).toEqual([200, 200]);
    expect(r.admission.inFlight).toBe(0);
    expect(r.admission.bytesInFlight).toBe(0);
    expect((await post(url)).status).toBe(200);
    expect(await grpcExport(r.grpcAddress)).toBeNull();
    expect(gate.batches).toHaveLength(4);
  });
});

describe('admission control and keep-alive', () => {
  it('answers a 429 on a keep-alive connection without closing it: the client retries on the same socket', async () => {
    const { gate, url } = await start({ max_requests_in_flight: 1 });
    const held = post(url);
    await waitFor(() => gate.held === 1, 5000, 'one request held by the pipeline');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    // a body larger than one TCP read, so that the 429 goes out before the body is read
    const big = JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: Array.from({ length: 2000 }, (_, i) => ({ traceId: '5b8efff798038103d269b633813fc60c', spanId: (i + 1).toString(16).padStart(16, '0'), name: 'op' })) }] }] });
    const send = (body: string) =>
      new Promise<{ status: number; connection: string | undefined; socket: unknown }>((resolve, reject) => {
        const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection, socket: req.socket }));
        });
        req.on('error', reject);
        req.end(body);
      });
    const refused = await send(big);
    expect(refused.status).toBe(429);
    expect(refused.connection).not.toBe('close');
    gate.open();
    expect((await held).status).toBe(200);
    const ok = await send(TRACE);
    expect(ok.status).toBe(200);
    expect(ok.socket).toBe(refused.socket);
    agent.destroy();
  });

  it('reads the rest of the body before a refusal to a client that closes after the request, so it reads the answer instead of EPIPE', async () => {
    const { gate, url } = await start({ max_requests_in_flight: 1 });
    const held = post(url);
    await waitFor(() => gate.held === 1, 5000, 'one request held by the pipeline');
    const body = Buffer.alloc(3 * 1024 * 1024, 0x20); // whitespace: never parsed, the request is refused first
    const outcome = await new Promise<{ status?: number; error?: string }>((resolve) => {
      let status: number | undefined;
      // agent: false sends "Connection: close": the server closes the socket once it has answered
      let ended = false;
      let written = false;
      const settle = () => ended && written && setTimeout(() => resolve({ status }), 100);
      const req = http.request(url, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
        status = res.statusCode;
        res.resume();
        res.on('end', () => {
          ended = true;
          settle();
        });
      });
      req.on('finish', () => {
        written = true;
        settle();
      });
      req.on('error', (e) => resolve({ status, error: (e as NodeJS.ErrnoException).code ?? e.message }));
      setTimeout(() => resolve({ status, error: `after 10 s: answer ${ended ? 'read' : 'not read'}, body ${written ? 'written' : 'not written'}` }), 10_000);
      // the first part, then the rest after the refusal has been decided
      req.write(body.subarray(0, 64 * 1024));
      setTimeout(() => req.end(body.subarray(64 * 1024)), 300);
    });
    expect(outcome).toEqual({ status: 429 });
    gate.open();
    expect((await held).status).toBe(200);
  });
});

describe('connection hygiene', () => {
  it('closes connections beyond max_connections, counts them on /metrics, and closes connections that send no request within read_timeout', async () => {
    const { r, url, telemetry, gate } = await start({ max_connections: 3, read_timeout: '1s' });
    const [host, port] = r.httpAddress.split(':') as [string, string];
    const grpcPort = Number(r.grpcAddress.split(':').pop());
    const open = (p: number) => {
      const s = net.connect(p, host);
      const closed = new Promise<number>((resolve) => {
        const t0 = Date.now();
        s.on('close', () => resolve(Date.now() - t0));
      });
      s.on('error', () => undefined);
      s.resume();
      return { s, closed };
    };
    const idleGrpc = [open(grpcPort), open(grpcPort), open(grpcPort)];
    const overGrpc = open(grpcPort);
    const idleHttp = [open(Number(port)), open(Number(port)), open(Number(port))];
    const overHttp = open(Number(port));
    // Over the cap: closed at once.
    expect(await overGrpc.closed).toBeLessThan(900);
    expect(await overHttp.closed).toBeLessThan(900);
    // Idle: closed after read_timeout (1 s), checked about every second.
    for (const c of [...idleGrpc, ...idleHttp]) expect(await c.closed).toBeGreaterThanOrEqual(900);
    // And the listener serves again.
    gate.open();
    expect((await post(url)).status).toBe(200);
    const addr = await telemetry.listen('127.0.0.1:0');
    const metrics = await (await fetch(`http://127.0.0.1:${addr.port}/metrics`)).text();
    await telemetry.closeServer();
    expect(metrics).toMatch(new RegExp(`vigil_receiver_refused_connections_total\\{receiver="otlp",listener="grpc 127.0.0.1:0"\\} 1`));
    expect(metrics).toMatch(/vigil_receiver_refused_connections_total\{receiver="otlp",listener="http 127.0.0.1:0"\} 1/);
    expect(metrics).toMatch(/vigil_receiver_timed_out_connections_total\{receiver="otlp",listener="grpc 127.0.0.1:0",reason="no request within read_timeout"\} 3/);
    expect(metrics).toMatch(/vigil_receiver_timed_out_connections_total\{receiver="otlp",listener="http 127.0.0.1:0",reason="no request within read_timeout"\} 3/);
  });

  it('derives the default connection cap from the descriptor limit', () => {
    expect(defaultMaxConnections(1024)).toBe(240);
    expect(defaultMaxConnections(256)).toBe(48);
    expect(defaultMaxConnections(100)).toBe(16);
    expect(defaultMaxConnections(1_048_576)).toBe(4096);
    expect(defaultMaxConnections(undefined)).toBe(4096);
  });
});

describe('a request whose client went away', () => {
  it('end to end: a real HTTP client that gives up while its request waits is answered 499 and its data is not written', async () => {
    const { logger, lines } = recordingLogger();
    const telemetry = new ServiceTelemetry();
    const gate = new GateConsumer();
    gate.open();
    const settings = testSettings('receiver', 'otlp', { emit: gate, logger });
    const r = otlpReceiverFactory.create(
      { ...settings, telemetry: telemetry.forComponent('receiver', 'otlp') },
      configFor(otlpReceiverFactory, { protocols: { http: { endpoint: '127.0.0.1:0' } } }),
    ) as OtlpReceiver;
    await r.start();
    running.push(r);
    const url = `http://${r.httpAddress}/v1/traces`;
    // The client is Node's own fetch (undici) in another process, with a 300 ms timeout. While it sends its
    // request and gives up, this process's event loop is held (as a saturated daemon's is), so the server
    // reads the whole request and the client's FIN only afterwards, then processes it.
    const client = spawn(
      process.execPath,
      ['-e', `fetch(${JSON.stringify(url)}, { method: 'POST', headers: { 'content-type': 'application/json' }, body: ${JSON.stringify(TRACE)}, signal: AbortSignal.timeout(300) }).then((r) => console.log('status', r.status), (e) => console.log('gave up', e.name))`],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    client.stdout.on('data', (c: Buffer) => (out += String(c)));
    const exited = new Promise<void>((resolve) => client.on('exit', () => resolve()));
    const hold = new Int32Array(new SharedArrayBuffer(4));
    Atomics.wait(hold, 0, 0, 2500); // the client starts, sends, times out and exits meanwhile
    await exited;
    expect(out).toMatch(/gave up (TimeoutError|AbortError)/);
    await waitFor(async () => (await counterValue(telemetry, 'vigil_receiver_refused_items', { receiver: 'otlp', signal: 'traces' })) === 1, 5000, 'the request counted as refused');
    expect(gate.batches).toHaveLength(0);
    expect(await counterValue(telemetry, 'vigil_receiver_accepted_items', { receiver: 'otlp' })).toBe(0);
    expect(lines.some((l) => /"status":499/.test(l) && /client went away/.test(l))).toBe(true);
    await telemetry.close();
    // the held loop is forgotten by the lag average before the next test
    await waitFor(() => loopBehindMs() < 50, 5000, 'the event loop lag to settle');
  });

  it('is not delivered (the client will send it again), and is counted as refused with status 499', async () => {
    const gate = new GateConsumer();
    gate.open();
    const batch = parseOtlpJson('traces', TRACE);
    const err = await deliver(gate, batch, () => true).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IntakeError);
    expect((err as IntakeError).status).toBe(CLIENT_GONE);
    expect(gate.batches).toHaveLength(0);
    await deliver(gate, batch, () => false);
    expect(gate.batches).toHaveLength(1);
  });
});

describe('Admission', () => {
  it('bounds requests and bytes in flight; one request larger than the byte budget passes alone', () => {
    const a = new Admission({ maxRequests: 3, maxBytes: 100 });
    expect(a.tryAcquire(60)).toBe(true);
    expect(a.tryAcquire(50)).toBe(false); // 110 bytes
    expect(a.tryAcquire(40)).toBe(true);
    expect(a.tryGrow(10)).toBe(false);
    expect(a.tryAcquire(0)).toBe(true);
    expect(a.tryAcquire(0)).toBe(false); // 3 requests
    a.release(60);
    a.release(40);
    a.release(0);
    expect([a.inFlight, a.bytesInFlight]).toEqual([0, 0]);
    expect(a.tryAcquire(500)).toBe(true);
  });
});


describe('intakeTurn', () => {
  it('lets admitted requests work one per event-loop turn, in arrival order, with other callbacks between them', async () => {
    const order: string[] = [];
    const turns = [1, 2, 3].map((i) => intakeTurn().then(() => void order.push(`request ${i}`)));
    setImmediate(() => order.push('other callback'));
    await Promise.all(turns);
    // All three queued at once; a plain promise chain would run them back to back before anything else.
    expect(order).toEqual(['request 1', 'other callback', 'request 2', 'request 3']);
    // The queue empties and starts again.
    await intakeTurn();
  });
});

describe('admission control while a gRPC request is being read', () => {
  /** Opens a gRPC Export stream on `session` and sends only the start of its message (it never ends). */
  function partialExport(session: http2.ClientHttp2Session) {
    const stream = session.request({ ':method': 'POST', ':path': '/opentelemetry.proto.collector.trace.v1.TraceService/Export', 'content-type': 'application/grpc', te: 'trailers' }, { endStream: false });
    const frame = Buffer.alloc(5 + 10);
    frame.writeUInt32BE(1000, 1); // a 1000-byte message, of which 10 bytes are sent
    stream.write(frame);
    const answer = new Promise<{ status: string | undefined; message: string | undefined }>((resolve) => {
      let status: string | undefined;
      let message: string | undefined;
      const take = (h: http2.IncomingHttpHeaders) => {
        if (h['grpc-message'] !== undefined) message = decodeURIComponent(String(h['grpc-message']));
        if (h['grpc-status'] !== undefined) resolve({ status: String(h['grpc-status']), message });
      };
      stream.on('response', take);
      stream.on('trailers', take);
      stream.on('close', () => resolve({ status, message }));
      stream.on('error', () => undefined);
      stream.resume();
    });
    return { stream, answer };
  }

  it('counts streams whose message is still arriving against max_requests_in_flight, and refuses streams beyond it at once (RESOURCE_EXHAUSTED), before their message is read', async () => {
    const { r, gate, url } = await start({ max_requests_in_flight: 2 });
    gate.open();
    const session = http2.connect(`http://${r.grpcAddress}`);
    session.on('error', () => undefined);
    const streams = Array.from({ length: 6 }, () => partialExport(session));
    await waitFor(() => r.admission.inFlight === 2, 5000, 'two streams being read hold the two slots');
    // the four others are answered at once, while the two are still being read
    const refused = await Promise.all(streams.slice(2).map((s) => s.answer));
    expect(refused.map((a) => a.status)).toEqual(['8', '8', '8', '8']);
    expect(refused[0]!.message).toContain('too many requests in flight (max_requests_in_flight 2');
    expect(r.admission.inFlight).toBe(2);
    // the limit is the receiver's: an HTTP request is refused too
    expect((await post(url)).status).toBe(429);
    // the client gives up: the slots come back
    for (const s of streams.slice(0, 2)) s.stream.close(http2.constants.NGHTTP2_CANCEL);
    await waitFor(() => r.admission.inFlight === 0, 5000, 'the slots of the cancelled streams given back');
    session.close();
    expect(r.admission.bytesInFlight).toBe(0);
    expect(await grpcExport(r.grpcAddress)).toBeNull();
    expect(gate.batches).toHaveLength(1); // nothing of the partial or refused streams was handled
    expect(r.admission.inFlight).toBe(0);
    expect(r.admission.bytesInFlight).toBe(0);
  });

  it('a stream whose message does not arrive within read_timeout is ended (DEADLINE_EXCEEDED) and gives its slot back', async () => {
    const { r, gate } = await start({ max_requests_in_flight: 1, read_timeout: '1s' });
    gate.open();
    const session = http2.connect(`http://${r.grpcAddress}`);
    session.on('error', () => undefined);
    const slow = partialExport(session);
    await waitFor(() => r.admission.inFlight === 1, 5000, 'the slow stream holds the slot');
    expect((await partialExport(session).answer).status).toBe('8');
    expect((await slow.answer).status).toBe('4');
    await waitFor(() => r.admission.inFlight === 0, 5000, 'the slot given back');
    session.close();
    expect(await grpcExport(r.grpcAddress)).toBeNull();
    expect(gate.batches).toHaveLength(1);
  });
});
