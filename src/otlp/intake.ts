/**
 * The HTTP intake both receivers (`otlp` over HTTP, `http_json`) share: the server (plain or TLS, with
 * optional client certificates), routing (404 / 405), bearer-token auth (401), content-type checks (415),
 * reading the body with a size limit that is checked on the *decompressed* bytes as they stream (a gzip
 * bomb is refused without being inflated: 413), a body timeout for slow clients (408), and the mapping of
 * what the pipeline answers to HTTP: a retryable refusal is 503 with `Retry-After`, a permanent one 400.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { Transform } from 'node:stream';
import zlib from 'node:zlib';
import { Type, type Static } from '@sinclair/typebox';
import type { ConfigIssue, Consumer } from '../component.ts';
import { Duration, Obj } from '../config/types.ts';
import { ConsumerError, type ErrorCode, ErrorCodes, StaleDecodeError, VigilError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { splitHostPort } from '../endpoint.ts';
import { type Admission, ConnectionStats, answerClientErrors, clientErrorAnswer, defaultMaxConnections, listenCapped, loopBehindMs, intakeTurn } from './connections.ts';

// ------------------------------------------------------------------------------------- shared config

/** TLS settings of a receiver: server certificate, and client CA for mutual TLS. Empty: plain text. */
export const TlsServerSchema = Obj({
  cert_file: Type.String({ default: '', description: 'PEM server certificate (chain); TLS is on when set' }),
  key_file: Type.String({ default: '', description: 'PEM private key of cert_file' }),
  client_ca_file: Type.String({ default: '', description: 'PEM CA bundle: when set, clients must present a certificate it signed' }),
});
/** The `tls:` settings of an intake listener (PEM cert, key and optional client CA files; empty: plain HTTP). */
export type TlsServerConfig = Static<typeof TlsServerSchema>;

/** The schema of an intake receiver's `auth:` section (TypeBox; defaults applied by Ajv). */
export const AuthSchema = Obj({
  bearer_token: Type.String({ default: '', description: 'When set, requests must carry `Authorization: Bearer <token>`' }),
});
/** An intake receiver's `auth:` section: `bearer_token` ("" = no authentication). */
export type AuthConfig = Static<typeof AuthSchema>;

/** 4 MiB, the Collector's default for gRPC messages. */
export const DEFAULT_MAX_BODY = 4 * 1024 * 1024;
/**
 * Requests in flight per receiver by default. 16 refused the bursts of ordinary clients (four services
 * flushing 100-span batches at 10k spans/s in all got 429s when one of them caught up); memory is bounded
 * by max_bytes_in_flight and latency by the refusal while answers run late.
 */
export const DEFAULT_MAX_REQUESTS_IN_FLIGHT = 64;
/** Bytes of request bodies in flight per receiver by default (64 MiB). */
export const DEFAULT_MAX_BYTES_IN_FLIGHT = 64 * 1024 * 1024;

/**
 * Keys every intake receiver has (merged into its own schema). `maxItems` is the default of
 * `max_request_items`, and `itemsAre` says what it counts (the receiver's items).
 */
export const intakeSchemaProps = (maxItems: number, itemsAre: string) => ({
  max_request_body_size: Type.Integer({ minimum: 1, default: DEFAULT_MAX_BODY, description: 'Largest request body accepted, in bytes, after decompression' }),
  max_request_items: Type.Integer({
    minimum: 1,
    default: maxItems,
    description: `${itemsAre}; a request holding more is refused whole (HTTP 413 / gRPC RESOURCE_EXHAUSTED) before it is processed`,
  }),
  read_timeout: Duration('10s', 'Time a client has to send the request headers and body (and a new connection its first request)'),
  max_connections: Type.Optional(
    Type.Integer({ minimum: 1, description: 'open connections per listener; beyond it new ones are closed at once. Default: from the descriptor limit (ulimit -n)' }),
  ),
  max_requests_in_flight: Type.Integer({
    minimum: 1,
    default: DEFAULT_MAX_REQUESTS_IN_FLIGHT,
    description: 'requests being read or processed at once (all protocols of the receiver); beyond it: HTTP 429 / gRPC RESOURCE_EXHAUSTED with a retry delay',
  }),
  max_bytes_in_flight: Type.Integer({
    minimum: 1,
    default: DEFAULT_MAX_BYTES_IN_FLIGHT,
    description: 'bytes of request bodies (decompressed) held at once by the receiver; beyond it: HTTP 429 / gRPC RESOURCE_EXHAUSTED with a retry delay',
  }),
  tls: TlsServerSchema,
  auth: AuthSchema,
});

/** Cross-field checks of the TLS settings. */
export function validateTls(tls: TlsServerConfig, path: (string | number)[] = ['tls']): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (tls.cert_file && !tls.key_file) issues.push({ path: [...path, 'key_file'], message: 'required when cert_file is set' });
  if (tls.key_file && !tls.cert_file) issues.push({ path: [...path, 'cert_file'], message: 'required when key_file is set' });
  if (tls.client_ca_file && !tls.cert_file) issues.push({ path: [...path, 'cert_file'], message: 'required when client_ca_file is set (mutual TLS needs server TLS)' });
  return issues;
}

/** The PEM material of a TLS config, read from disk (throws an error naming the file). */
export function readTlsFiles(tls: TlsServerConfig): { cert: Buffer; key: Buffer; ca: Buffer | undefined } | undefined {
  if (!tls.cert_file) return undefined;
  const read = (what: string, file: string) => {
    try {
      return fs.readFileSync(file);
    } catch (e) {
      throw new Error(`cannot read tls.${what} "${file}": ${(e as Error).message}`);
    }
  };
  return {
    cert: read('cert_file', tls.cert_file),
    key: read('key_file', tls.key_file),
    ca: tls.client_ca_file ? read('client_ca_file', tls.client_ca_file) : undefined,
  };
}

/** Constant-time check of an `Authorization` header value against the configured token. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  if (!token) return true;
  if (!header) return false;
  const m = /^Bearer\s+(.+)$/i.exec(header.trim());
  if (!m) return false;
  return sameSecret(m[1]!, token);
}

/**
 * Constant-time check of an `Authorization: Basic <base64 of user:password>` header (RFC 7617) whose password is
 * `token`, any user name: how a browser, which cannot send a bearer token, signs in to the telemetry endpoint's
 * status page (as to Prometheus's or Alertmanager's web UI behind basic auth).
 */
export function basicPasswordMatches(header: string | undefined, token: string): boolean {
  if (!token || !header) return false;
  const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header.trim());
  if (!m) return false;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 && sameSecret(decoded.slice(colon + 1), token);
}

function sameSecret(given: string, token: string): boolean {
  const a = crypto.createHash('sha256').update(given).digest();
  const b = crypto.createHash('sha256').update(token).digest();
  return crypto.timingSafeEqual(a, b);
}

// ---------------------------------------------------------------------------------------------- errors

/** A request refused by the intake itself, with the HTTP status to answer. */
/** The catalogue code of an intake refusal with this HTTP status. */
function intakeCode(status: number): ErrorCode {
  if (status === 401) return ErrorCodes.INTAKE_UNAUTHENTICATED;
  if (status === 404 || status === 405 || status === 415) return ErrorCodes.INTAKE_UNSUPPORTED;
  if (status === 408) return ErrorCodes.INTAKE_TIMEOUT;
  if (status === 413) return ErrorCodes.INTAKE_TOO_LARGE;
  if (status === 429 || status === 503) return ErrorCodes.INTAKE_OVERLOADED;
  if (status === 499) return ErrorCodes.INTAKE_CLIENT_GONE;
  return ErrorCodes.INTAKE_INVALID;
}

/**
 * A request refused by the intake itself, with the HTTP status to answer (400, 401, 408, 413, 415, 429, 499,
 * 503...), the catalogue code that status maps to, and, for 429/503, the wait to suggest in Retry-After (ms).
 */
export class IntakeError extends VigilError {
  readonly status: number;
  readonly retryAfterMs: number | undefined;
  constructor(status: number, message: string, retryAfterMs?: number) {
    super(intakeCode(status), message);
    this.name = 'IntakeError';
    this.status = status;
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * An error that the same data would raise again however often it is sent (a stack overflow on a hostile
 * nesting, a number that cannot be converted): a permanent 400, never a retryable answer that would make
 * the client resend a poison pill for ever. Undefined for any other error.
 */
export function dataError(e: unknown): IntakeError | undefined {
  if (e instanceof IntakeError) return e;
  if (e instanceof RangeError || e instanceof TypeError || e instanceof SyntaxError)
    return new IntakeError(400, `data cannot be processed: ${e.message}`);
  return undefined;
}

/** Status of a request whose client went away (nginx's 499): nobody reads the answer. */
export const CLIENT_GONE = 499;

/** Event-loop lag (ms) above which {@link deliver} lets the loop turn before it checks whether the client is still there. */
export const CLIENT_GONE_CHECK_LAG_MS = 100;

/** Default wait suggested to a client when the pipeline refuses without saying how long. */
export const DEFAULT_RETRY_AFTER_MS = 1000;

/**
 * Hands a batch to the pipelines; a refusal becomes an {@link IntakeError}: retryable -> 503 with
 * Retry-After, permanent -> 400. Never swallows a refusal.
 */
export async function deliver(emit: Consumer, batch: Parameters<Consumer['consume']>[0], clientGone?: () => boolean): Promise<void> {
  // A client that gave up (timeout, cancel) will send the data again: writing it now would duplicate it.
  // After the event loop was held up (a saturated daemon), a request and its client's FIN or RST may sit
  // in the same socket buffer: the data is read in one poll phase, the end of the stream only in the next.
  // Then two turns of the loop are let pass first, so that the check sees what the client did meanwhile
  // (a request handled on time pays nothing).
  if (clientGone && loopBehindMs() > CLIENT_GONE_CHECK_LAG_MS) {
    await new Promise<void>((r) => setImmediate(r));
    await new Promise<void>((r) => setImmediate(r));
  }
  if (clientGone?.()) throw new IntakeError(CLIENT_GONE, 'the client went away before the request was processed: not delivered');
  try {
    await emit.consume(batch);
  } catch (e) {
    // decoded for pipelines a reload has since replaced: the receiver decodes it again (never a client's answer)
    if (e instanceof StaleDecodeError) throw e;
    if (e instanceof ConsumerError && e.permanent) throw new IntakeError(400, `data refused: ${e.message}`);
    const poison = dataError(e);
    if (poison) throw poison;
    const ms = e instanceof ConsumerError && e.retryAfterMs !== undefined ? e.retryAfterMs : DEFAULT_RETRY_AFTER_MS;
    throw new IntakeError(503, `pipeline busy, retry later: ${(e as Error).message}`, ms);
  }
}

// --------------------------------------------------------------------------------------------- server

/** What a route receives: the decompressed body and the request's media type (lowercase, no params). */
export interface IntakeRequest {
  body: Buffer;
  contentType: string;
  headers: http.IncomingHttpHeaders;
  /** True once the client has closed the connection or given up on this request (pass to {@link deliver}). */
  clientGone(): boolean;
}

/** A route's answer: HTTP status, Content-Type and body. */
export interface IntakeReply {
  status: number;
  contentType: string;
  body: string | Buffer;
}

/** One path an {@link HttpIntakeServer} serves (e.g. OTLP/HTTP's `/v1/traces`). */
export interface IntakeRoute {
  /** Media types the route takes; others get 415. Empty: any. */
  contentTypes: readonly string[];
  /**
   * True when `handle` keeps no reference to `body` (nor a view of it) once its promise settles: the server
   * may then read the body into a reused buffer, which it takes back afterwards (see {@link BodyPool}).
   */
  releasesBody?: boolean;
  handle(req: IntakeRequest): Promise<IntakeReply>;
}

/**
 * What an {@link HttpIntakeServer} is built with: the `host:port` to bind, its routes by path, the body limit
 * (bytes, after decompression), the read timeout (ms), TLS, the bearer token ("" = none) and hooks.
 */
export interface HttpIntakeOptions {
  endpoint: string;
  routes: Record<string, IntakeRoute>;
  maxBodyBytes: number;
  readTimeoutMs: number;
  tls: TlsServerConfig;
  bearerToken: string;
  logger: Logger;
  /** Formats an error body for a request of `contentType` (OTLP answers a Status in the request's encoding). */
  formatError(status: number, message: string, contentType: string): IntakeReply;
  /** Called for every request refused before its items were counted (to count them as refused). */
  onRefused?(path: string, status: number): void;
  /** Connection cap of the listener (default: from the descriptor limit). */
  maxConnections?: number;
  /** Where refused and timed-out connections are counted and logged. */
  connectionStats?: ConnectionStats;
  /** The receiver's bound on requests and bytes in flight (shared with its other protocols). */
  admission?: Admission;
}

/**
 * Reused buffers for request bodies that arrive in several chunks. Joining the chunks into a fresh buffer
 * (Buffer.concat) costs a large allocation per request, which the allocator serves from newly mapped
 * pages: at a few requests a second the page faults and page zeroing cost more CPU than copying the
 * bytes. A buffer taken here is handed back once the request is done; the pool keeps at most `maxBytes`
 * of idle buffers and never holds one larger than `maxBuffer`.
 */
export class BodyPool {
  private readonly free: Buffer[] = [];
  private idleBytes = 0;
  constructor(
    private readonly maxBytes = 8 * 1024 * 1024,
    private readonly maxBuffer = 4 * 1024 * 1024,
  ) {}

  /** Bytes held by idle buffers. */
  get idle(): number {
    return this.idleBytes;
  }

  /** A buffer of at least `size` bytes (its contents are not zeroed). */
  take(size: number): Buffer {
    // The smallest idle buffer that fits (the pool is short: a linear scan).
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const len = this.free[i]!.length;
      if (len >= size && (best < 0 || len < this.free[best]!.length)) best = i;
    }
    if (best >= 0) {
      const b = this.free[best]!;
      this.free[best] = this.free[this.free.length - 1]!;
      this.free.pop();
      this.idleBytes -= b.length;
      return b;
    }
    // Round up to 64 KiB so that bodies of similar sizes share buffers.
    return Buffer.allocUnsafeSlow(Math.ceil(size / 65536) * 65536);
  }

  /** Hands a buffer from {@link take} back; dropped when the pool is full or it is too large. */
  give(b: Buffer): void {
    if (b.length > this.maxBuffer) return;
    // Full: let the smallest idle buffers go first, keep the larger (more useful) one.
    while (this.idleBytes + b.length > this.maxBytes && this.free.length) {
      let smallest = 0;
      for (let i = 1; i < this.free.length; i++) if (this.free[i]!.length < this.free[smallest]!.length) smallest = i;
      if (this.free[smallest]!.length >= b.length) return;
      this.idleBytes -= this.free[smallest]!.length;
      this.free[smallest] = this.free[this.free.length - 1]!;
      this.free.pop();
    }
    if (this.idleBytes + b.length > this.maxBytes) return;
    this.free.push(b);
    this.idleBytes += b.length;
  }
}

/** A body read by {@link readBody}: `pooled` is the buffer to give back to the pool (when one was used). */
export interface ReadBody {
  body: Buffer;
  pooled: Buffer | undefined;
}

/**
 * Reads a request body (undoing its content codings: gzip, deflate) into one buffer, enforcing size and time limits. With a
 * pool, a body of several chunks is joined in a pooled buffer (`pooled`, to give back when done).
 */
export function readBody(req: http.IncomingMessage, maxBytes: number, timeoutMs: number): Promise<Buffer>;
// With a pool: the body, and the pooled buffer that holds it when it came in several chunks (give it back).
export function readBody(req: http.IncomingMessage, maxBytes: number, timeoutMs: number, pool: BodyPool): Promise<ReadBody>;
// The implementation of both overloads above. Rejects with an IntakeError: 415 for a content coding other than
// gzip, deflate or identity, 413 past `maxBytes` (after decompression), 408 past `timeoutMs`.
export function readBody(req: http.IncomingMessage, maxBytes: number, timeoutMs: number, pool?: BodyPool): Promise<Buffer | ReadBody> {
  return readBodyInto(req, maxBytes, timeoutMs, pool).then((r) => (pool ? r : r.body));
}

/** The content codings a request body may carry, as the `Accept-Encoding` of a 415 lists them (RFC 9110 section 12.5.3). */
export const ACCEPTED_CONTENT_CODINGS = 'gzip, deflate';

/** A 415 for a content coding the intake cannot undo: its answer carries `Accept-Encoding` (RFC 9110 section 15.5.16). */
export class ContentCodingError extends IntakeError {
  constructor(message: string) {
    super(415, message);
    this.name = 'ContentCodingError';
  }
}

/** Content codings a request body may carry, applied in the order listed (RFC 9110 section 8.4). */
export type ContentCoding = 'gzip' | 'deflate';
/** Content codings stacked on one body at most (each one is inflated in turn, every stage capped). */
export const MAX_CONTENT_CODINGS = 3;

/**
 * The content codings of a `Content-Encoding` header value, in the order the sender applied them (RFC 9110
 * section 8.4: a comma-separated list, case-insensitive). `identity` (and an empty list) means none; `x-gzip`
 * is `gzip` (section 8.4.1.3). Throws an {@link IntakeError} 415 naming an unknown coding, or when more than
 * {@link MAX_CONTENT_CODINGS} are stacked.
 */
export function parseContentEncoding(header: string | string[] | undefined): ContentCoding[] {
  const raw = Array.isArray(header) ? header.join(',') : (header ?? '');
  const codings: ContentCoding[] = [];
  for (const part of raw.split(',')) {
    const c = part.trim().toLowerCase();
    if (c === '' || c === 'identity') continue;
    if (c === 'gzip' || c === 'x-gzip') codings.push('gzip');
    else if (c === 'deflate') codings.push('deflate');
    else throw new ContentCodingError(`unsupported Content-Encoding "${c}"${c === raw.trim().toLowerCase() ? '' : ` in "${raw.trim()}"`}: use gzip, deflate or identity`);
  }
  if (codings.length > MAX_CONTENT_CODINGS)
    throw new ContentCodingError(`Content-Encoding "${raw.trim()}" stacks ${codings.length} codings: at most ${MAX_CONTENT_CODINGS} are undone`);
  return codings;
}

/**
 * A stream that inflates HTTP `deflate`: the zlib format (RFC 1950) as RFC 9110 defines it, or a raw deflate
 * stream (RFC 1951) as some clients send it, told apart by the zlib header in the first two bytes.
 */
function createDeflateDecoder(): Transform {
  let inflate: zlib.Inflate | zlib.InflateRaw | undefined;
  let head: Buffer = Buffer.alloc(0);
  const out = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (!inflate) {
        head = Buffer.concat([head, chunk]);
        if (head.length < 2) return cb();
        // zlib header: compression method 8 in the low nibble of CMF, and CMF*256+FLG a multiple of 31
        const zlibHeader = (head[0]! & 0x0f) === 8 && (head[0]! * 256 + head[1]!) % 31 === 0;
        inflate = zlibHeader ? zlib.createInflate({ chunkSize: 64 * 1024 }) : zlib.createInflateRaw({ chunkSize: 64 * 1024 });
        inflate.on('data', (d: Buffer) => out.push(d));
        inflate.on('error', (e) => out.destroy(e));
        chunk = head;
      }
      // keep the inflater's back-pressure: the next chunk waits until this one is taken
      if (inflate.write(chunk)) cb();
      else inflate.once('drain', () => cb());
    },
    flush(cb) {
      if (!inflate) return cb(new Error('unexpected end of file'));
      inflate.once('end', () => cb());
      inflate.end();
    },
  });
  return out;
}

function readBodyInto(req: http.IncomingMessage, maxBytes: number, timeoutMs: number, pool: BodyPool | undefined): Promise<ReadBody> {
  let codings: ContentCoding[];
  try {
    codings = parseContentEncoding(req.headers['content-encoding']);
  } catch (e) {
    return Promise.reject(e);
  }
  const declared = Number(req.headers['content-length']);
  if (codings.length === 0 && Number.isFinite(declared) && declared > maxBytes)
    return Promise.reject(new IntakeError(413, `request body of ${declared} bytes exceeds max_request_body_size (${maxBytes} bytes)`));
  const coded = codings.length > 0;

  return new Promise<ReadBody>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    let source: NodeJS.ReadableStream = req;
    const decoders: Transform[] = [];
    const finish = (err: Error | undefined, body?: ReadBody) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.off('aborted', onAborted);
      if (err) {
        if (decoders.length) {
          req.unpipe(decoders[0]!);
          for (const d of decoders) d.destroy();
        }
        // Stop reading (the connection is closed after the error response).
        req.pause();
        reject(err);
      } else resolve(body!);
    };
    const timer = setTimeout(
      () => finish(new IntakeError(408, `request body not received within read_timeout (${timeoutMs} ms)`)),
      timeoutMs,
    );
    timer.unref();
    const onAborted = () => finish(new IntakeError(400, 'client aborted the request'));
    req.on('aborted', onAborted);
    req.on('error', (e) => finish(new IntakeError(400, `error reading the request: ${e.message}`)));
    // The codings were applied in the order listed: undo the last first. Every stage's output is capped at
    // maxBytes as it streams, so no stage inflates more than the limit (a bomb inside a bomb included).
    for (let i = codings.length - 1; i >= 0; i--) {
      const coding = codings[i]!;
      const decoder: Transform = coding === 'gzip' ? zlib.createGunzip({ chunkSize: 64 * 1024 }) : createDeflateDecoder();
      decoder.on('error', (e) => finish(new IntakeError(400, `invalid ${coding} body: ${e.message}`)));
      if (i > 0) {
        let stage = 0;
        decoder.on('data', (chunk: Buffer) => {
          stage += chunk.length;
          if (stage > maxBytes) finish(new IntakeError(413, `request body exceeds max_request_body_size (${maxBytes} bytes after decompression)`));
        });
      }
      source.pipe(decoder);
      source = decoder;
      decoders.push(decoder);
    }
    source.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > maxBytes) {
        finish(
          new IntakeError(
            413,
            `request body exceeds max_request_body_size (${maxBytes} bytes${coded ? ' after decompression' : ''})`,
          ),
        );
        return;
      }
      chunks.push(chunk);
    });
    source.on('end', () => {
      if (done) return;
      if (chunks.length === 1) return finish(undefined, { body: chunks[0]!, pooled: undefined });
      if (!pool) return finish(undefined, { body: Buffer.concat(chunks, size), pooled: undefined });
      const pooled = pool.take(size);
      let at = 0;
      for (const c of chunks) at += c.copy(pooled, at);
      chunks.length = 0;
      finish(undefined, { body: pooled.subarray(0, size), pooled });
    });
  });
}

/** An HTTP(S) server that runs intake routes. */
/** How long a draining intake server keeps serving requests on its open keep-alive connections. */
const DRAIN_GRACE_MS = 1000;

/**
 * An HTTP(S) server that runs intake routes: binds `endpoint`, checks the bearer token, method, media type,
 * body size and read time of each request, answers refusals with `formatError`'s body, and drains on shutdown.
 */
export class HttpIntakeServer {
  private server: http.Server | undefined;
  /** Shutting down: every answer closes its connection. */
  private draining = false;
  private addr: AddressInfo | undefined;
  private readonly pool = new BodyPool();

  constructor(private readonly opts: HttpIntakeOptions) {}

  /** `host:port` actually bound (after start). */
  get address(): string {
    if (!this.addr) throw new Error('server not started');
    return this.addr.family === 'IPv6' ? `[${this.addr.address}]:${this.addr.port}` : `${this.addr.address}:${this.addr.port}`;
  }

  get port(): number {
    return this.addr?.port ?? 0;
  }

  async start(): Promise<void> {
    const { host, port } = splitHostPort(this.opts.endpoint);
    const tls = readTlsFiles(this.opts.tls);
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => void this.handle(req, res);
    // Node checks header and request deadlines every connectionsCheckingInterval (30 s by default): every
    // second instead, so that read_timeout is what a slow client gets.
    const timing = { connectionsCheckingInterval: 1000, headersTimeout: Math.max(1000, this.opts.readTimeoutMs), requestTimeout: 0 };
    const server = tls
      ? https.createServer({ ...timing, cert: tls.cert, key: tls.key, ca: tls.ca, requestCert: !!tls.ca, rejectUnauthorized: !!tls.ca }, handler)
      : http.createServer(timing, handler);
    server.keepAliveTimeout = 65_000;
    // Headers must arrive within read_timeout (a header trickle is cut then, not when Node's default 30 s
    // check comes round: the check runs every second); the body has its own timer, which answers 408.
    server.headersTimeout = Math.max(1000, this.opts.readTimeoutMs);
    server.requestTimeout = 0;
    const stats = this.opts.connectionStats ?? new ConnectionStats(this.opts.logger, undefined);
    const listener = `http ${this.opts.endpoint}`;
    await listenCapped(server, host, port, listener, this.opts.maxConnections ?? defaultMaxConnections(), stats).catch((e: Error) => {
      throw new Error(`cannot listen on ${this.opts.endpoint}: ${e.message}`, { cause: e });
    });
    // Node's parser and its deadline checks (clientErrorAnswer): a request (or a new connection's first
    // request) whose headers did not all arrive within read_timeout is a 408, as a body that is too slow;
    // answered after the requests before it on the connection (answerClientErrors: pipelining).
    answerClientErrors(
      server,
      (err) => clientErrorAnswer(err, server.headersTimeout),
      (err, status) => {
        if (status === 408) stats.closedConnection(listener, 'no request within read_timeout');
        this.opts.logger.debug({ err, status }, 'bad HTTP request');
      },
    );
    this.server = server;
    this.addr = server.address() as AddressInfo;
  }

  /**
   * Drains without resetting keep-alive connections: no new connection is accepted; a request that
   * arrives on an open connection during the next `DRAIN_GRACE_MS` is still served, its answer saying
   * `Connection: close` (so the client opens a new connection, to the next server, rather than seeing its
   * request cut); connections still idle after that are closed, and any left 2 s later are cut.
   */
  async shutdown(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    this.draining = true;
    await new Promise<void>((resolve) => {
      // net.Server's close: stop listening but keep the open connections (http.Server's close would also
      // close the idle keep-alive ones at once, cutting a request a client is sending on one right then)
      net.Server.prototype.close.call(server, () => {
        // now http.Server's own close, for what it clears besides (its connection-checking timer)
        server.close(() => undefined);
        resolve();
      });
      const idle = setTimeout(() => {
        server.closeIdleConnections();
        // Requests in flight get a moment to finish, then their connections are cut.
        setTimeout(() => server.closeAllConnections(), 2000).unref();
      }, DRAIN_GRACE_MS);
      idle.unref();
      server.once('close', () => clearTimeout(idle));
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const ctHeader = req.headers['content-type'] ?? '';
    const semi = ctHeader.indexOf(';');
    const contentType = (semi < 0 ? ctHeader : ctHeader.slice(0, semi)).trim().toLowerCase();
    try {
      const route = this.opts.routes[path];
      if (!route) throw new IntakeError(404, `unknown path ${path}: use ${Object.keys(this.opts.routes).join(', ')}`);
      if (req.method !== 'POST') {
        res.setHeader('allow', 'POST');
        throw new IntakeError(405, `method ${req.method} not allowed on ${path}: use POST`);
      }
      if (!bearerMatches(req.headers.authorization, this.opts.bearerToken))
        throw new IntakeError(401, 'missing or invalid bearer token');
      if (route.contentTypes.length && !route.contentTypes.includes(contentType))
        throw new IntakeError(415, `unsupported Content-Type "${contentType || '(none)'}": use ${contentTypeChoices(route.contentTypes)}`);
      let reply: IntakeReply;
      const admission = this.opts.admission;
      const declared = Number(req.headers['content-length']);
      let held = Number.isFinite(declared) && declared > 0 ? Math.min(declared, this.opts.maxBodyBytes) : 0;
      if (admission && !admission.tryAcquire(held)) {
        throw new IntakeError(
          429,
          `too many requests in flight (max_requests_in_flight ${admission.limits.maxRequests}, max_bytes_in_flight ${admission.limits.maxBytes}): retry later`,
          DEFAULT_RETRY_AFTER_MS,
        );
      }
      // Gone: the connection closed, or the client sent FIN after its request (an HTTP client does that only
      // when it gives up: its timeout fired while the request waited in the accept queue or the event loop).
      const clientGone = () => res.destroyed || req.socket.destroyed || req.socket.readableEnded;
      try {
        const read = route.releasesBody ? await readBody(req, this.opts.maxBodyBytes, this.opts.readTimeoutMs, this.pool) : { body: await readBody(req, this.opts.maxBodyBytes, this.opts.readTimeoutMs), pooled: undefined };
        if (admission && read.body.length > held) {
          const more = read.body.length - held;
          if (!admission.tryGrow(more)) {
            if (read.pooled) this.pool.give(read.pooled);
            throw new IntakeError(429, `too many request bytes in flight (max_bytes_in_flight ${admission.limits.maxBytes}): retry later`, DEFAULT_RETRY_AFTER_MS);
          }
          held += more;
        }
        // Timed from the body read on: a slow client's upload says nothing about the pipeline.
        const started = performance.now();
        try {
          await intakeTurn();
          reply = await route.handle({ body: read.body, contentType, headers: req.headers, clientGone });
        } finally {
          if (read.pooled) this.pool.give(read.pooled);
          admission?.observe(performance.now() - started);
        }
      } finally {
        if (admission) admission.release(held);
      }
      res.writeHead(reply.status, {
        'content-type': reply.contentType,
        'content-length': Buffer.byteLength(reply.body),
        ...(this.draining ? { connection: 'close' } : {}),
      });
      res.end(reply.body);
    } catch (e) {
      const err = dataError(e);
      const status = err?.status ?? 500;
      const message = err ? err.message : `internal error: ${(e as Error).message}`;
      if (!err) this.opts.logger.error({ err: e }, 'intake request failed');
      else this.opts.logger.debug({ status, path, message }, 'request refused');
      this.opts.onRefused?.(path, status);
      let reply: IntakeReply;
      try {
        reply = this.opts.formatError(status, message, contentType);
      } catch (formatErr) {
        // Never leave a request unanswered because its error could not be formatted: a plain-text 500 needs
        // nothing of the receiver's own body format (google.rpc.Status, the http_json error object).
        this.opts.logger.error({ err: formatErr }, 'intake error answer could not be formatted');
        reply = { status: 500, contentType: 'text/plain', body: `internal error: ${message}\n` };
      }
      const headers: http.OutgoingHttpHeaders = { 'content-type': reply.contentType, 'content-length': Buffer.byteLength(reply.body) };
      if (err?.retryAfterMs !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(err.retryAfterMs / 1000)));
      // RFC 9110 section 15.5.2: a 401 names the scheme it wants (as the telemetry endpoint's 401 does)
      if (status === 401) headers['www-authenticate'] = 'Bearer';
      if (err instanceof ContentCodingError) headers['accept-encoding'] = ACCEPTED_CONTENT_CODINGS;
      // The body may be unread (413, 408, 401 ...): close rather than read what is left of it. Except a
      // retryable refusal (429, 503) whose declared body is within max_request_body_size: a client still
      // writing its body would otherwise meet a closed socket (EPIPE) and never read the answer and its
      // Retry-After; and the client (an OTLP SDK) retries on the same
      // keep-alive connection, so the rest of the body is read and discarded (Node dumps an unread request
      // body once the answer is sent). Closing would cost it a new connection per refusal, and the event loop
      // accepts one connection per turn (libuv): at 2x saturation the reconnections of refused clients
      // queued in the kernel's accept backlog (511) for seconds, and SYN retries came on top.
      const declared = Number(req.headers['content-length']);
      const dumpable = (status === 429 || status === 503) && Number.isFinite(declared) && declared <= this.opts.maxBodyBytes;
      if ((!req.complete && !dumpable) || this.draining) headers.connection = 'close';
      // A client that asked to close the connection after this request (no keep-alive) is still writing its
      // body: Node would close the socket right after the answer, and the client would meet EPIPE instead
      // of reading it (RFC 9112 section 9.6). Read the rest of the body into nothing first.
      else if (dumpable && !req.complete && !res.shouldKeepAlive) await discardBody(req, this.opts.readTimeoutMs);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      res.writeHead(reply.status, headers);
      res.end(reply.body);
    }
  }
}

/** Reads what is left of a request body and drops it; resolves when it ended, failed, or after `timeoutMs`. */
function discardBody(req: http.IncomingMessage, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    req.once('end', done).once('close', done).once('error', done);
    req.resume();
  });
}

/**
 * The Content-Types a route takes, as a 415 lists them: `a or b`, with an empty entry (a request without
 * the header is taken) written as `no Content-Type at all` rather than as an empty name.
 */
export function contentTypeChoices(types: readonly string[]): string {
  const named = types.filter((t) => t !== '');
  return named.length < types.length ? [...named, 'no Content-Type at all'].join(' or ') : named.join(' or ');
}
