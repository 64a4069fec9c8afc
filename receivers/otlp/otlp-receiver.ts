import type * as GrpcJs from '@grpc/grpc-js';
import { importPackage } from '../../src/import-package.ts';
import { memoryBudget } from '../../src/memory-budget.ts';
import type { Component, CreateSettings, Host } from '../../src/component.ts';
import { parseDuration } from '../../src/duration.ts';
import { type Batch, countItems } from '../../src/model.ts';
import { decodeMemory } from '../../src/otlp/decode-memory.ts';
import { type OtlpSignal, OtlpDecodeError, parseOtlpJson } from '../../src/otlp/json.ts';
import {
  HttpIntakeServer,
  IntakeError,
  type IntakeReply,
  type IntakeRoute,
  CLIENT_GONE,
  DEFAULT_RETRY_AFTER_MS,
  bearerMatches,
  dataError,
  deliver,
  readTlsFiles,
} from '../../src/otlp/intake.ts';
import { type DecodeChecks, type PartialSuccess, SpanDecodePlan, decodeExportRequest, encodeExportResponse, encodeRpcStatus } from '../../src/otlp/proto.ts';
import { StaleDecodeError } from '../../src/errors.ts';
import { scanExportRequest } from '../../src/otlp/scan.ts';
import { RequestItemsError, tokenAttributesProblem } from '../../src/limits.ts';
import { Admission, ConnectionStats, defaultMaxConnections, guardHttp2, intakeTurn } from '../../src/otlp/connections.ts';
import { splitHostPort } from '../../src/endpoint.ts';
import { type OtlpReceiverConfig, enabledProtocols } from './config.ts';

/**
 * @grpc/grpc-js, imported when a gRPC listener starts (startGrpc), not with the component: `vigil validate`
 * and configs without `protocols.grpc` do not load its ~70 modules (issue 21). Everything below that uses
 * it runs on a started gRPC server.
 */
let grpc: typeof GrpcJs;

const PROTOBUF = 'application/x-protobuf';
const JSON_TYPE = 'application/json';
const SIGNALS: readonly OtlpSignal[] = ['traces', 'metrics', 'logs'];

const GRPC_SERVICES: Record<OtlpSignal, string> = {
  traces: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
  metrics: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
  logs: '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
};

const REJECTED_JSON_KEY: Record<OtlpSignal, string> = { traces: 'rejectedSpans', metrics: 'rejectedDataPoints', logs: 'rejectedLogRecords' };

/**
 * gRPC status codes, as numbered by the gRPC spec (doc/statuscodes.md), the same as `grpc.status`. Kept here
 * because HTTP answers carry them too (the OTLP/HTTP error body is a google.rpc.Status) and @grpc/grpc-js is
 * loaded only when a gRPC listener starts: an HTTP-only receiver has no `grpc` to read them from.
 */
const GrpcCode = {
  CANCELLED: 1,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const satisfies Partial<Record<keyof typeof GrpcJs.status, number>>;

/** The gRPC status matching an intake HTTP status. */
function grpcCodeFor(httpStatus: number): number {
  switch (httpStatus) {
    case 400:
    case 415:
      return GrpcCode.INVALID_ARGUMENT;
    case 401:
      return GrpcCode.UNAUTHENTICATED;
    case 413: // too large: without RetryInfo, so that clients do not retry it
    case 429: // admission control: with RetryInfo (OTLP: RESOURCE_EXHAUSTED is retryable only with it)
      return GrpcCode.RESOURCE_EXHAUSTED;
    case 503:
      return GrpcCode.UNAVAILABLE;
    case CLIENT_GONE:
      return GrpcCode.CANCELLED;
    case 404: // no such service method
    case 405: // the method exists, but not with this HTTP verb
      return GrpcCode.UNIMPLEMENTED;
    case 408: // the request did not arrive within read_timeout, as gRPC's DEADLINE_EXCEEDED on the same case
      return GrpcCode.DEADLINE_EXCEEDED;
    default:
      return GrpcCode.INTERNAL;
  }
}

/** Byte-identity (de)serializers: the receiver decodes messages itself, with its own codec. */
const identity = (b: Buffer) => b;

/**
 * Receives OTLP over gRPC and HTTP (protobuf and JSON) for traces, metrics and logs and pushes each request
 * into the pipelines as one batch. Answers only once the pipelines accepted or refused it: a retryable
 * refusal is HTTP 503 + Retry-After / gRPC UNAVAILABLE + RetryInfo, a permanent one 400 / INVALID_ARGUMENT.
 */
export class OtlpReceiver implements Component {
  private http: HttpIntakeServer | undefined;
  private grpcServer: GrpcJs.Server | undefined;
  private grpcPort = 0;
  private grpcHost = '';
  /** Requests and bytes in flight, over both protocols. */
  readonly admission: Admission;
  private readonly connections: ConnectionStats;
  /** Batches the protobuf decoder found without a token count out of range (rejectInvalid skips that check for them). */
  private readonly tokenCountsInRange = new WeakSet<Batch>();

  constructor(
    private readonly settings: CreateSettings,
    private readonly config: OtlpReceiverConfig,
  ) {
    this.admission = new Admission({ maxRequests: config.max_requests_in_flight, maxBytes: config.max_bytes_in_flight }, memoryBudget.account(`receiver/${settings.id} requests in flight`));
    this.connections = new ConnectionStats(settings.logger, settings.telemetry);
  }

  /** `host:port` the HTTP server is bound to (after start). */
  get httpAddress(): string {
    if (!this.http) throw new Error('HTTP protocol not started');
    return this.http.address;
  }

  /** `host:port` the gRPC server is bound to (after start). */
  get grpcAddress(): string {
    if (!this.grpcServer) throw new Error('gRPC protocol not started');
    return `${this.grpcHost}:${this.grpcPort}`;
  }

  async start(_host?: Host): Promise<void> {
    const { grpc: grpcEndpoint, http: httpEndpoint } = enabledProtocols(this.config);
    try {
      if (httpEndpoint) await this.startHttp(httpEndpoint);
      if (grpcEndpoint) await this.startGrpc(grpcEndpoint);
    } catch (e) {
      await this.shutdown();
      throw e;
    }
    this.settings.logger.info(
      { http: this.http?.address, grpc: this.grpcServer ? this.grpcAddress : undefined },
      'OTLP receiver listening',
    );
  }

  async shutdown(): Promise<void> {
    const http = this.http;
    const server = this.grpcServer;
    this.http = undefined;
    this.grpcServer = undefined;
    await Promise.all([
      http?.shutdown(),
      server &&
        new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            server.forceShutdown();
            resolve();
          }, 2000);
          timer.unref();
          server.tryShutdown(() => {
            clearTimeout(timer);
            resolve();
          });
        }),
    ]);
    this.admission.close();
  }

  /**
   * Drops what OTLP declares invalid (spans without a trace or span id, metrics without a name) and what
   * vigil refuses (spans with a token count out of range, src/limits.ts) and says how many items went, for
   * partial_success. The rest of the request is kept. Token counts are checked span by span only when the
   * protobuf decoder saw one out of range in the request, or when the batch came from JSON
   * ({@link tokenCountsInRange}).
   */
  private rejectInvalid(signal: OtlpSignal, batch: Batch): PartialSuccess | undefined {
    let rejected = 0;
    let what = '';
    if (signal === 'traces') {
      let badIds = 0;
      let badTokens = '';
      const checkTokens = !this.tokenCountsInRange.has(batch);
      for (const rs of batch.resourceSpans ?? [])
        for (const ss of rs.scopeSpans) {
          let bad = 0;
          for (const s of ss.spans) {
            if (!validId(s.traceId) || !validId(s.spanId)) {
              bad++;
              badIds++;
              continue;
            }
            const p = checkTokens ? tokenAttributesProblem(s.attributes) : undefined;
            if (p) {
              bad++;
              badTokens ||= p;
            }
          }
          if (bad) {
            ss.spans = ss.spans.filter((s) => validId(s.traceId) && validId(s.spanId) && !(checkTokens && tokenAttributesProblem(s.attributes)));
            rejected += bad;
          }
        }
      what = [badIds ? 'spans without a valid trace_id or span_id' : '', badTokens ? `spans with a token count out of range (first: ${badTokens})` : ''].filter(Boolean).join(' or ');
    } else if (signal === 'metrics') {
      for (const rm of batch.resourceMetrics ?? [])
        for (const sm of rm.scopeMetrics) {
          if (!sm.metrics.some((m) => m.name === '')) continue;
          for (const m of sm.metrics) if (m.name === '') rejected += m.data ? m.data.dataPoints.length : 0;
          sm.metrics = sm.metrics.filter((m) => m.name !== '');
        }
      what = 'data points of metrics without a name';
    }
    return rejected ? { rejected, errorMessage: `${rejected} ${what} were rejected` } : undefined;
  }

  /**
   * One protobuf request as a batch: kept encoded when every consumer downstream takes encoded batches and
   * the scan finds it well-formed with nothing to reject (then nothing decodes it unless something needs
   * to), decoded otherwise. Throws {@link OtlpDecodeError} on malformed input.
   */
  private fromProtobuf(signal: OtlpSignal, bytes: Buffer, whole = false): Batch {
    if (this.settings.emit.acceptsEncoded === true) {
      const items = scanExportRequest(signal, bytes);
      if (items >= 0) return { encoded: { signal, bytes, items } };
    }
    const checks: DecodeChecks = { tokenCountSuspect: true };
    // refused (413 / 503) before a request decodes into more memory than the heap can give it; spans carry
    // only what something downstream reads of them (README "Only what something reads of a span")
    const plan = signal === 'traces' && !whole ? this.spanPlan() : undefined;
    const batch = decodeExportRequest(signal, bytes, checks, decodeMemory.check, plan, this.config.max_request_items);
    if (!checks.tokenCountSuspect) this.tokenCountsInRange.add(batch);
    return batch;
  }

  /**
   * {@link ingest} of a request's batch. When a reload replaced the pipelines between the decoding and the
   * delivery with ones that read more of a span than was decoded (the `emit` refuses the batch with a
   * StaleDecodeError before anything reads it), the protobuf request (`bytes`) is decoded again, whole, and
   * handed over again: nothing was delivered or counted the first time.
   */
  private async ingestDecoded(signal: OtlpSignal, batch: Batch, bytes: Buffer | undefined, clientGone?: () => boolean): Promise<PartialSuccess | undefined> {
    try {
      return await this.ingest(signal, batch, clientGone);
    } catch (e) {
      if (!(e instanceof StaleDecodeError) || bytes === undefined) throw e;
      return this.ingest(signal, this.fromProtobuf(signal, bytes, true), clientGone);
    }
  }

  /**
   * What the pipelines read of each span (`spanReads` of `emit`, src/component.ts), as the decoder takes it;
   * undefined when something may read anything. Made again only when that changes (a reload re-points `emit`).
   */
  private spanPlan(): SpanDecodePlan | undefined {
    const reads = this.settings.emit.spanReads;
    if (reads !== this.plan?.reads) this.plan = reads === undefined ? undefined : new SpanDecodePlan(reads);
    return this.plan;
  }
  private plan: SpanDecodePlan | undefined = undefined;

  /** Validates, then hands one request's batch to the pipelines; counts accepted and refused items. */
  private async ingest(signal: OtlpSignal, batch: Batch, clientGone?: () => boolean): Promise<PartialSuccess | undefined> {
    // An encoded batch was scanned: it holds nothing to reject.
    const partial = batch.encoded ? undefined : this.rejectInvalid(signal, batch);
    const n = countItems(batch)[signal];
    if (n > 0) {
      try {
        await deliver(this.settings.emit, batch, clientGone);
      } catch (e) {
        // decoded for pipelines a reload replaced: the caller decodes it again and that delivery is counted
        if (!(e instanceof StaleDecodeError)) this.count(signal, partial, 'refused', n);
        throw e;
      }
    }
    this.count(signal, partial, 'accepted', n);
    return partial;
  }

  /** Counts one request: the items validation rejected (`partial`) as refused, the `n` handed on as `outcome`. */
  private count(signal: OtlpSignal, partial: PartialSuccess | undefined, outcome: 'accepted' | 'refused', n: number): void {
    const tel = this.settings.telemetry;
    if (partial) tel.count('refused', signal, partial.rejected);
    if (n > 0) tel.count(outcome, signal, n);
  }

  // ------------------------------------------------------------------------------------------- HTTP

  private async startHttp(endpoint: string): Promise<void> {
    const routes: Record<string, IntakeRoute> = {};
    for (const signal of SIGNALS) routes[`/v1/${signal}`] = this.httpRoute(signal);
    const server = new HttpIntakeServer({
      endpoint,
      routes,
      maxBodyBytes: this.config.max_request_body_size,
      readTimeoutMs: parseDuration(this.config.read_timeout),
      tls: this.config.tls,
      bearerToken: this.config.auth.bearer_token,
      logger: this.settings.logger,
      maxConnections: this.config.max_connections,
      connectionStats: this.connections,
      admission: this.admission,
      formatError: (status, message, contentType) => {
        const code = grpcCodeFor(status);
        return contentType === PROTOBUF
          ? { status, contentType: PROTOBUF, body: encodeRpcStatus({ code, message }) }
          : { status, contentType: JSON_TYPE, body: JSON.stringify({ code, message }) };
      },
    });
    await server.start();
    this.http = server;
  }

  private httpRoute(signal: OtlpSignal): IntakeRoute {
    return {
      contentTypes: [PROTOBUF, JSON_TYPE],
      // Both decoders copy what they keep (strings, bytes values), and an encoded batch lends its bytes only
      // until the pipelines answer (see EncodedRequest): the body can be reused once the reply is made.
      releasesBody: true,
      handle: async ({ body, contentType, clientGone }): Promise<IntakeReply> => {
        const json = contentType === JSON_TYPE;
        let batch: Batch;
        try {
          batch = json ? parseOtlpJsonGuarded(signal, body.toString('utf8'), this.config.max_request_items) : this.fromProtobuf(signal, body);
        } catch (e) {
          if (e instanceof RequestItemsError) throw new IntakeError(413, e.message);
          if (e instanceof OtlpDecodeError) throw new IntakeError(400, `invalid OTLP/${json ? 'JSON' : 'protobuf'} ${signal} request: ${e.message}`);
          throw e;
        }
        const partial = await this.ingestDecoded(signal, batch, json ? undefined : body, clientGone);
        if (!json) return { status: 200, contentType: PROTOBUF, body: encodeExportResponse(partial) };
        const resp = partial ? { partialSuccess: { [REJECTED_JSON_KEY[signal]]: String(partial.rejected), errorMessage: partial.errorMessage } } : {};
        return { status: 200, contentType: JSON_TYPE, body: JSON.stringify(resp) };
      },
    };
  }

  // ------------------------------------------------------------------------------------------- gRPC

  private async startGrpc(endpoint: string): Promise<void> {
    grpc ??= await importPackage(import('@grpc/grpc-js'));
    const { host, port } = splitHostPort(endpoint);
    const ka = keepaliveMs(this.config);
    const server = new grpc.Server({
      'grpc.max_receive_message_length': this.config.max_request_body_size,
      'grpc.keepalive_time_ms': ka.time,
      'grpc.keepalive_timeout_ms': ka.timeout,
      'grpc.max_connection_idle_ms': ka.maxConnectionIdle,
      'grpc.max_connection_age_ms': ka.maxConnectionAge,
      'grpc.max_connection_age_grace_ms': ka.maxConnectionAgeGrace,
      'grpc.max_send_message_length': 4 * 1024 * 1024,
      ...(this.config.protocols.grpc?.max_concurrent_streams ? { 'grpc.max_concurrent_streams': this.config.protocols.grpc.max_concurrent_streams } : {}),
      interceptors: [admissionInterceptor(this.admission), readTimeoutInterceptor(parseDuration(this.config.read_timeout))],
    });
    for (const signal of SIGNALS) {
      const definition: GrpcJs.ServiceDefinition = {
        Export: {
          path: GRPC_SERVICES[signal],
          requestStream: false,
          responseStream: false,
          requestSerialize: identity,
          requestDeserialize: identity,
          responseSerialize: identity,
          responseDeserialize: identity,
          originalName: 'export',
        },
      };
      server.addService(definition, { Export: (call: GrpcJs.ServerUnaryCall<Buffer, Buffer>, cb: GrpcJs.sendUnaryData<Buffer>) => this.grpcExport(signal, call, cb) });
    }
    const tls = readTlsFiles(this.config.tls);
    const creds = tls
      ? grpc.ServerCredentials.createSsl(tls.ca ?? null, [{ private_key: tls.key, cert_chain: tls.cert }], !!tls.ca)
      : grpc.ServerCredentials.createInsecure();
    const bindHost = host === undefined ? '0.0.0.0' : host.includes(':') ? `[${host}]` : host;
    this.grpcServer = server;
    this.grpcHost = bindHost;
    this.grpcPort = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${bindHost}:${port}`, creds, (err, bound) => (err ? reject(new Error(`cannot listen on ${endpoint} (gRPC): ${err.message}`, { cause: err })) : resolve(bound))),
    );
    widenFlowControlWindows(server);
    forEachHttp2Server(server, (h2) =>
      guardHttp2(h2, `grpc ${endpoint}`, this.config.max_connections ?? defaultMaxConnections(), parseDuration(this.config.read_timeout), this.connections),
    );
  }

  private grpcExport(signal: OtlpSignal, call: GrpcJs.ServerUnaryCall<Buffer, Buffer>, cb: GrpcJs.sendUnaryData<Buffer>): void {
    const fail = (err: unknown) => {
      const ie = dataError(err);
      const code = ie ? grpcCodeFor(ie.status) : GrpcCode.INTERNAL;
      const message = ie ? ie.message : `internal error: ${(err as Error).message}`;
      if (!ie) this.settings.logger.error({ err }, 'gRPC export failed');
      const metadata = new grpc.Metadata();
      if ((code === GrpcCode.UNAVAILABLE || code === GrpcCode.RESOURCE_EXHAUSTED) && ie?.retryAfterMs !== undefined)
        metadata.set('grpc-status-details-bin', encodeRpcStatus({ code, message, retryDelayMs: ie.retryAfterMs }));
      cb({ code, details: message, metadata });
    };
    const token = this.config.auth.bearer_token;
    if (token) {
      const auth = call.metadata.get('authorization')[0];
      if (!bearerMatches(typeof auth === 'string' ? auth : undefined, token)) {
        fail(new IntakeError(401, 'missing or invalid bearer token'));
        return;
      }
    }
    // the call's slot was taken when it started (admissionInterceptor) and is given back when it ends; here
    // its message's bytes join the bytes in flight
    const bytes = call.request.length;
    if (!this.admission.tryGrow(bytes)) {
      fail(new IntakeError(429, `too many request bytes in flight (max_bytes_in_flight ${this.admission.limits.maxBytes}): retry later`, DEFAULT_RETRY_AFTER_MS));
      return;
    }
    const started = performance.now();
    const done = () => {
      this.admission.shrink(bytes);
      this.admission.observe(performance.now() - started);
    };
    // Cancelled by the client, or past the deadline it gave: it will retry, so this one is not written.
    const clientGone = () => call.cancelled || deadlinePassed(call.getDeadline());
    void intakeTurn().then(() => this.grpcIngest(signal, call, cb, clientGone, done, fail));
  }

  /** The gRPC export once it is the request's turn (see intakeTurn): decode, then the pipelines. */
  private grpcIngest(
    signal: OtlpSignal,
    call: GrpcJs.ServerUnaryCall<Buffer, Buffer>,
    cb: GrpcJs.sendUnaryData<Buffer>,
    clientGone: () => boolean,
    done: () => void,
    fail: (err: unknown) => void,
  ): void {
    let batch: Batch;
    try {
      batch = this.fromProtobuf(signal, call.request);
    } catch (e) {
      done();
      fail(
        e instanceof RequestItemsError
          ? new IntakeError(413, e.message)
          : e instanceof OtlpDecodeError
            ? new IntakeError(400, `invalid OTLP/protobuf ${signal} request: ${e.message}`)
            : e,
      );
      return;
    }
    this.ingestDecoded(signal, batch, call.request, clientGone).then(
      (partial) => {
        done();
        cb(null, encodeExportResponse(partial));
      },
      (e) => {
        done();
        fail(e);
      },
    );
  }
}

/**
 * Admission control for gRPC calls from their start, as the HTTP side takes a slot before it reads a body: a
 * call holds one of the receiver's `max_requests_in_flight` slots while its message arrives and while it is
 * processed, until its status is sent or it is cancelled. A call beyond the limit is answered at once with
 * RESOURCE_EXHAUSTED and RetryInfo, before its message is read: clients opening many streams whose messages
 * arrive slowly (or never end) cannot make the server buffer a message per stream without bound.
 */
function admissionInterceptor(admission: Admission): GrpcJs.ServerInterceptor {
  return (_method, call) => {
    let held = false;
    const release = () => {
      if (held) admission.release(0);
      held = false;
    };
    return new grpc.ServerInterceptingCall(call, {
      start: (next) => {
        held = admission.tryAcquire(0);
        if (held) {
          next({ onCancel: release });
          return;
        }
        // refused: the call is not started (its message is never read nor handled), only answered
        const l = admission.limits;
        const message = `too many requests in flight (max_requests_in_flight ${l.maxRequests}, max_bytes_in_flight ${l.maxBytes}): retry later`;
        const metadata = new grpc.Metadata();
        metadata.set('grpc-status-details-bin', encodeRpcStatus({ code: GrpcCode.RESOURCE_EXHAUSTED, message, retryDelayMs: DEFAULT_RETRY_AFTER_MS }));
        call.sendStatus({ code: grpc.status.RESOURCE_EXHAUSTED, details: message, metadata });
      },
      sendStatus: (status, next) => {
        release();
        next(status);
      },
    });
  };
}

/**
 * Ends a gRPC call whose request message has not fully arrived within `ms` (a slow or stalled client) with
 * DEADLINE_EXCEEDED, as the HTTP side answers 408: grpc-js itself would wait for ever.
 */
function readTimeoutInterceptor(ms: number): GrpcJs.ServerInterceptor {
  return (_method, call) => {
    let timer: NodeJS.Timeout | undefined;
    const clear = () => {
      if (timer) clearTimeout(timer);
      timer = undefined;
    };
    return new grpc.ServerInterceptingCall(call, {
      start: (next) => {
        timer = setTimeout(() => {
          timer = undefined;
          call.sendStatus({ code: grpc.status.DEADLINE_EXCEEDED, details: `request not received within read_timeout (${ms} ms)` });
        }, ms);
        timer.unref();
        next({
          onReceiveMessage: (message, nextMessage) => {
            clear();
            nextMessage(message);
          },
          onCancel: clear,
        });
      },
      sendStatus: (status, next) => {
        clear();
        next(status);
      },
    });
  };
}

/** True when a gRPC call's deadline (a Date or ms since the epoch; Infinity: none) has passed. */
function deadlinePassed(deadline: GrpcJs.Deadline): boolean {
  const ms = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(ms) && ms <= Date.now();
}

const KEEPALIVE_DEFAULTS = { max_connection_idle: '5m', max_connection_age: '30m', max_connection_age_grace: '30s', time: '1m', timeout: '20s' };

/** The gRPC keepalive settings in ms, defaults filled in (the Collector's names, gRPC's semantics). */
export function keepaliveMs(c: OtlpReceiverConfig): { maxConnectionIdle: number; maxConnectionAge: number; maxConnectionAgeGrace: number; time: number; timeout: number } {
  const p = { ...KEEPALIVE_DEFAULTS, ...(c.protocols.grpc?.keepalive?.server_parameters ?? {}) };
  return {
    maxConnectionIdle: parseDuration(p.max_connection_idle),
    maxConnectionAge: parseDuration(p.max_connection_age),
    maxConnectionAgeGrace: parseDuration(p.max_connection_age_grace),
    time: parseDuration(p.time),
    timeout: parseDuration(p.timeout),
  };
}

/** Calls `f` on each HTTP/2 server inside a grpc-js server (its internal list; nothing if absent). */
function forEachHttp2Server(server: GrpcJs.Server, f: (h2: import('node:http2').Http2Server) => void): void {
  const h2Servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(h2Servers instanceof Map)) return;
  for (const h2 of h2Servers.keys() as Iterable<import('node:http2').Http2Server>) if (typeof h2?.on === 'function') f(h2);
}

/** Per-stream and per-connection HTTP/2 receive windows of the gRPC server. */
const GRPC_STREAM_WINDOW = 256 * 1024;
const GRPC_CONNECTION_WINDOW = 1024 * 1024;

/**
 * grpc-js leaves Node's HTTP/2 defaults (64 KiB receive windows) on its server sessions, so a client sending
 * a few-hundred-KiB OTLP batch stops several times per request to wait for WINDOW_UPDATEs; on a busy host
 * each wait is a scheduling delay. grpc-js has no option for it: this opens the windows on every session
 * through its (internal) list of HTTP/2 servers, and does nothing if that list is not there.
 */
function widenFlowControlWindows(server: GrpcJs.Server): void {
  const h2Servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(h2Servers instanceof Map)) return;
  for (const h2 of h2Servers.keys() as Iterable<import('node:http2').Http2Server>) {
    if (typeof h2?.on !== 'function') continue;
    h2.on('session', (session: import('node:http2').ServerHttp2Session) => {
      try {
        session.settings({ initialWindowSize: GRPC_STREAM_WINDOW });
        session.setLocalWindowSize(GRPC_CONNECTION_WINDOW);
      } catch {
        // a session already closing: nothing to tune
      }
    });
  }
}

/** A trace or span id that is present and not all zeros. */
function validId(id: string): boolean {
  if (id === '') return false;
  for (let i = 0; i < id.length; i++) if (id.charCodeAt(i) !== 48) return true;
  return false;
}

/**
 * An OTLP/JSON request, parsed only when it holds at most `maxItems` items and what it parses into fits
 * (src/otlp/decode-memory.ts).
 */
function parseOtlpJsonGuarded(signal: OtlpSignal, text: string, maxItems: number): Batch {
  const estimate = decodeMemory.admitJson(text);
  const batch = parseOtlpJson(signal, text, maxItems);
  // the model made from the parsed JSON is about as large again
  decodeMemory.check(2 * estimate);
  return batch;
}
