/**
 * Connection hygiene and admission control for the listeners (OTLP HTTP and gRPC, http_json, the telemetry
 * endpoint, the prometheus exporter's scrape endpoint):
 * - a cap on open connections per listener (`max_connections`); over it a new connection is closed at
 *   once by the kernel-facing server (Node's `server.maxConnections`), so idle or slow clients cannot
 *   exhaust the process's file descriptors and starve `/healthz` and ordinary clients;
 * - a deadline for a new connection's first request (a connection that never sends one is closed after
 *   `read_timeout`), HTTP header and body timeouts enforced within about a second, and gRPC keepalive and
 *   max connection idle/age (see the otlp receiver's config);
 * - refused and timed-out connections counted on /metrics and logged, at most once per 10 s per listener;
 * - a bound on requests and bytes in flight per receiver ({@link Admission}): beyond it a request is
 *   answered at once with a retryable refusal instead of queueing, so latency stays bounded under overload.
 */
import fs from 'node:fs';
import type http2 from 'node:http2';
import type http from 'node:http';
import type net from 'node:net';
import type { Counter } from '@opentelemetry/api';
import type { Logger } from '../logger.ts';
import { type BudgetAccount, memoryBudget } from '../memory-budget.ts';
import type { ComponentTelemetry } from '../telemetry.ts';

/** The soft limit of open file descriptors of this process (`ulimit -n`), or undefined when unknown. */
export function openFileLimit(): number | undefined {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'));
    if (!m || m[1] === 'unlimited') return undefined;
    return Number(m[1]);
  } catch {
    return undefined;
  }
}

/** Descriptors kept for everything but client connections (files, queues, outgoing connections, logs). */
const RESERVED_FDS = 64;
/** Listeners a process usually has (OTLP gRPC, OTLP HTTP, http_json, telemetry) sharing the descriptors. */
const LISTENERS = 4;

/**
 * The default connection cap of one listener: a quarter of the descriptors left after a reserve, at most
 * 4096 and at least 16, so that a full listener still leaves descriptors to the others (at `ulimit -n 1024`:
 * 240; at 256: 48).
 */
export function defaultMaxConnections(limit = openFileLimit()): number {
  if (limit === undefined) return 4096;
  return Math.max(16, Math.min(4096, Math.floor((limit - RESERVED_FDS) / LISTENERS)));
}

const LOG_EVERY_MS = 10_000;

/** Counts and logs (rate-limited) what happens to one component's connections. */
export class ConnectionStats {
  private readonly refused: Counter | undefined;
  private readonly closed: Counter | undefined;
  private readonly pending = new Map<string, number>();
  private lastLog = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly telemetry: ComponentTelemetry | undefined,
  ) {
    this.refused = telemetry?.meter.createCounter('vigil_receiver_refused_connections', {
      description: 'Connections refused because the listener had max_connections open',
    });
    this.closed = telemetry?.meter.createCounter('vigil_receiver_timed_out_connections', {
      description: 'Connections closed by the receiver: no request within read_timeout, or idle',
    });
  }

  /** A connection refused on `listener` (e.g. "grpc 127.0.0.1:4317") because it was full. */
  refusedConnection(listener: string, limit: number): void {
    this.refused?.add(1, { ...this.telemetry!.labels, listener });
    this.note(`refused (max_connections ${limit} reached) on ${listener}`);
  }

  /** A connection closed because it sent no request in time (`reason`). */
  closedConnection(listener: string, reason: string): void {
    this.closed?.add(1, { ...this.telemetry!.labels, listener, reason });
    this.note(`closed (${reason}) on ${listener}`);
  }

  /** A connection `listener` could not accept (EMFILE at the descriptor limit, ...): libuv tries again at the next one. */
  acceptFailed(listener: string, err: NodeJS.ErrnoException): void {
    this.note(`not accepted (${err.code ?? err.message}) on ${listener}`);
  }

  private note(what: string): void {
    this.pending.set(what, (this.pending.get(what) ?? 0) + 1);
    const now = Date.now();
    if (now - this.lastLog >= LOG_EVERY_MS) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), LOG_EVERY_MS - (now - this.lastLog));
      this.timer.unref();
    }
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.lastLog = Date.now();
    if (!this.pending.size) return;
    const connections = Object.fromEntries(this.pending);
    this.pending.clear();
    this.logger.warn({ connections }, 'connections refused, closed or not accepted (logged at most every 10 s)');
  }
}

/**
 * Caps the connections of a listening net/http server; counts and logs what is refused, and logs (never throws)
 * a connection it fails to accept: an 'error' on a listening server is a failed accept, which Node emits and
 * which would end the process without a listener.
 */
export function capConnections(server: net.Server, listener: string, max: number, stats: ConnectionStats): void {
  server.maxConnections = max;
  server.on('drop', () => stats.refusedConnection(listener, max));
  server.on('error', (e: NodeJS.ErrnoException) => stats.acceptFailed(listener, e));
}

/** What {@link answerClientErrors} answers to a request Node's parser refused: status, reason phrase, body text. */
export interface ClientErrorAnswer {
  status: number;
  reason: string;
  text: string;
}

/**
 * The answer to a request Node's parser refused, with a message: 408 when its headers did not all arrive
 * within the server's `headersTimeout` (named `timeoutName` in the message), 431 when they exceed Node's limit (--max-http-header-size,
 * 16 KiB; RFC 6585), 400 for anything else unparsable.
 */
export function clientErrorAnswer(err: NodeJS.ErrnoException, headersTimeoutMs: number, timeoutName = 'read_timeout'): ClientErrorAnswer {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return { status: 408, reason: 'Request Timeout', text: `request headers not received within ${timeoutName} (${headersTimeoutMs} ms)\n` };
  if (err.code === 'HPE_HEADER_OVERFLOW') return { status: 431, reason: 'Request Header Fields Too Large', text: `bad HTTP request: ${err.message}\n` };
  return { status: 400, reason: 'Bad Request', text: `bad HTTP request: ${err.message}\n` };
}

/**
 * Answers what Node's HTTP parser refuses on a connection (a `clientError`: garbage, headers too large or too
 * slow) with `answer(err)` and closes the connection, but only once every request read before it on that
 * connection has been answered. A client may pipeline (HTTP/1.1: several requests written without waiting):
 * a valid request followed by garbage on the same connection was processed (its data delivered) while Node's
 * parser, reading on, hit the garbage; writing the 400 and closing then (as Node's own handler, and this
 * one's predecessor, did) lost the valid request's answer, and the client, seeing no answer, sent again what
 * had been taken. `onError` is told each refusal with its status (to count or log it); a connection's later
 * parse errors (the parser stays failed) are ignored.
 */
export function answerClientErrors(server: http.Server, answer: (err: NodeJS.ErrnoException) => ClientErrorAnswer, onError?: (err: NodeJS.ErrnoException, status: number) => void): void {
  const inFlight = new WeakMap<net.Socket, { pending: number; then: (() => void) | undefined }>();
  const refused = new WeakSet<net.Socket>();
  server.prependListener('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const socket = req.socket;
    let state = inFlight.get(socket);
    if (!state) inFlight.set(socket, (state = { pending: 0, then: undefined }));
    const s = state;
    s.pending++;
    let done = false;
    const finished = () => {
      if (done) return;
      done = true;
      if (--s.pending === 0 && s.then) {
        const then = s.then;
        s.then = undefined;
        then();
      }
    };
    res.once('finish', finished);
    res.once('close', finished);
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) => {
    if (refused.has(socket)) return;
    refused.add(socket);
    const a = answer(err);
    onError?.(err, a.status);
    const reply = () => {
      if (socket.writable) socket.end(`HTTP/1.1 ${a.status} ${a.reason}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(a.text)}\r\n\r\n${a.text}`);
      else socket.destroy();
    };
    const state = inFlight.get(socket);
    // the answers of the requests before it first (Node writes them in order as they finish)
    if (state && state.pending > 0) state.then = reply;
    else reply();
  });
}

/**
 * Binds a net/http server to `host:port`, then caps its connections ({@link capConnections}). Resolves once it
 * listens; rejects with the listen error (`code` EADDRINUSE, EACCES, ...), leaving no listener of its own behind.
 */
export async function listenCapped(server: net.Server, host: string | undefined, port: number, listener: string, max: number, stats: ConnectionStats): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  capConnections(server, listener, max, stats);
}

/**
 * Caps the connections of an HTTP/2 (gRPC) server and closes a session that has not opened a stream within
 * `firstRequestMs` (an idle or half-open TCP connection, a client that never speaks HTTP/2): grpc-js's own
 * idle timer (`grpc.max_connection_idle_ms`) only runs for sessions that completed the handshake.
 */
export function guardHttp2(server: http2.Http2Server, listener: string, max: number, firstRequestMs: number, stats: ConnectionStats): void {
  capConnections(server, listener, max, stats);
  server.on('session', (session: http2.ServerHttp2Session) => {
    let streams = 0;
    const timer = setTimeout(() => {
      if (streams === 0 && !session.destroyed) {
        stats.closedConnection(listener, 'no request within read_timeout');
        session.destroy();
      }
    }, firstRequestMs);
    timer.unref();
    session.on('stream', () => {
      if (streams++ === 0) clearTimeout(timer);
    });
    session.once('close', () => clearTimeout(timer));
  });
}

/**
 * Intake work (decoding a request and running it through the processors, a few ms for 512 spans) is done one
 * request per turn of the event loop: each admitted request waits for its turn, taken in arrival order by a
 * `setImmediate` chain. Between two turns the loop polls its sockets and runs its timers, so `/healthz`, a
 * refusal (429 / RESOURCE_EXHAUSTED) and a new connection wait for at most one request's work, not for every
 * request whose body arrived in the same poll (which, at saturation, was tens of them back to back).
 * Shared by every receiver of the process.
 */
const turnWaiters: (() => void)[] = [];
let turnHead = 0;
let turnScheduled = false;
/** Set by {@link yieldTurn}: the next turn is given to the loop's poll instead of to a request. */
let yieldOnce = false;
/**
 * Gives the next intake turn to the event loop: it polls its sockets once more before the next request's work.
 * Called when the telemetry endpoint accepts a connection (src/telemetry.ts): libuv reads a connection it
 * accepted at its next poll, so without the yield a probe's request (`/healthz`) waited for one more request's
 * work (a few ms of 512 spans, tens with a file exporter writing every span) after the one running when it
 * arrived. At most one turn is given per call, and only while requests are waiting: a flood of connections
 * slows intake by one poll each, never starves it.
 */
export function yieldTurn(): void {
  if (turnScheduled) yieldOnce = true;
}
function nextTurn(): void {
  if (yieldOnce) {
    yieldOnce = false;
    // queued from a check-phase callback: runs at the next turn, after the poll that reads the connection
    setImmediate(nextTurn);
    return;
  }
  const w = turnWaiters[turnHead];
  if (w) {
    turnWaiters[turnHead++] = undefined as unknown as () => void;
    if (turnHead > 1024 && turnHead * 2 > turnWaiters.length) {
      turnWaiters.splice(0, turnHead);
      turnHead = 0;
    }
    w();
  }
  if (turnHead < turnWaiters.length) setImmediate(nextTurn);
  else {
    turnWaiters.length = 0;
    turnHead = 0;
    turnScheduled = false;
  }
}
/** Resolves when it is this request's turn to use the event loop (see above). */
export function intakeTurn(): Promise<void> {
  return new Promise((resolve) => {
    turnWaiters.push(resolve);
    if (!turnScheduled) {
      turnScheduled = true;
      setImmediate(nextTurn);
    }
  });
}

/**
 * Answer time above which a receiver stops admitting more requests until those in flight drain (ms). 1 s, not
 * lower: on a loaded machine (a CI runner, two cores shared by many processes) ordinary answers take hundreds
 * of ms, and a tighter target refused ordinary clients (500 ms refused end-to-end tests there).
 */
export const TARGET_LATENCY_MS = 1000;

/** Event-loop lag (moving average) above which new requests are refused while others are in flight (ms). */
export const MAX_LOOP_LAG_MS = 500;

/** Period of the lag timer while the loop is late (ms). */
const LAG_TICK_BUSY_MS = 20;
/**
 * Period of the lag timer while the loop keeps up (ms): each tick wakes the process, which costs ~0.1 ms of
 * CPU on a small VM (measured: an empty 10 ms interval costs ~1% of a core), so a calm loop is sampled 10
 * times a second, not 50 (at 10,000 spans/s in 100-span requests the 20 ms timer was a third of the process's
 * wake-ups). A late tick switches back to 20 ms at once.
 */
const LAG_TICK_CALM_MS = 100;
/** Lag (ms) under which the loop counts as keeping up (moving average and the last tick). */
const CALM_LAG_MS = 5;

/**
 * How late the event loop runs a timer, as a moving average: the time any request (and /healthz) waits
 * before its turn. Sampled by one unref'd timer for the whole process, started on first use, every 20 ms
 * while the loop is late and every 100 ms while it keeps up (a lag is measured the same at either period:
 * how long after its due time the timer ran).
 */
class LoopLag {
  private avg = 0;
  private expected = 0;
  /** performance.now() of the timer's last run. */
  lastTickAt = 0;
  private timer: NodeJS.Timeout | undefined;
  /**
   * The lag now: the larger of the moving average and how overdue the next tick is at this moment (while
   * one poll phase works through a burst of ready sockets, the timer cannot run to update the average).
   */
  ms(): number {
    if (!this.timer) this.start();
    return Math.max(this.avg, performance.now() - this.expected);
  }
  /** The moving average alone: high only when the loop has been late tick after tick. */
  sustained(): number {
    if (!this.timer) this.start();
    return this.avg;
  }
  private start(): void {
    this.schedule(performance.now(), LAG_TICK_BUSY_MS);
  }
  private schedule(now: number, every: number): void {
    this.expected = now + every;
    this.timer = setTimeout(this.tick, every);
    this.timer.unref();
  }
  private readonly tick = (): void => {
    const now = performance.now();
    this.lastTickAt = now;
    const lag = Math.max(0, now - this.expected);
    this.avg = this.avg * 0.7 + lag * 0.3;
    this.schedule(now, this.avg > CALM_LAG_MS || lag > CALM_LAG_MS ? LAG_TICK_BUSY_MS : LAG_TICK_CALM_MS);
  };
}
const loopLag = new LoopLag();

/** How late the event loop is now (ms): see {@link LoopLag.ms}. */
export function loopBehindMs(): number {
  return loopLag.ms();
}

/** Limits of requests and bytes in flight (received, not yet answered) for one receiver. */
export interface AdmissionLimits {
  maxRequests: number;
  maxBytes: number;
}

/**
 * Admission control: at most `maxRequests` requests and `maxBytes` of request bodies in flight for one
 * receiver (all its protocols). {@link tryAcquire} says whether one more fits; every successful acquire
 * is released once, when the request is answered. The OTLP spec's answer to a refusal is a retryable
 * 429/503 with Retry-After (HTTP) or RESOURCE_EXHAUSTED with RetryInfo / UNAVAILABLE (gRPC).
 *
 * The bytes in flight are also accounted in the process's memory budget (src/memory-budget.ts, store
 * `receiver/<id> requests in flight`), which the memory_limiter reads between its measurements; they are
 * bounded here by `maxBytes`, not refused for the budget (they leave within a request's time).
 */
export class Admission {
  private requests = 0;
  private bytes = 0;
  /** Moving average of the time the pipelines took to answer a request, in ms. */
  private latencyMs = 0;
  private lastAdmitAt = 0;
  constructor(
    readonly limits: AdmissionLimits,
    /** Where the bytes in flight are accounted (default: an account of the process's memory budget). */
    readonly budget: BudgetAccount = memoryBudget.account('receiver requests in flight'),
  ) {}

  /** Gives the bytes in flight back to the budget (the receiver is shut down). */
  close(): void {
    this.budget.close();
  }

  /**
   * Records how long the pipelines took to answer one admitted request (after its body was read). While the
   * moving average is above {@link TARGET_LATENCY_MS} and other requests are in flight, new ones are
   * refused: the requests already queued drain first, so that a client waits at most about that long
   * instead of piling up behind a saturated pipeline until its own timeout (then retrying a request that
   * was written after all).
   */
  observe(ms: number): void {
    this.latencyMs = this.latencyMs === 0 ? ms : this.latencyMs * 0.8 + ms * 0.2;
  }

  /** Requests in flight now. */
  get inFlight(): number {
    return this.requests;
  }
  /** Bytes of request bodies in flight now. */
  get bytesInFlight(): number {
    return this.bytes;
  }

  /** Takes a slot for a request of `bytes` (0 when not yet known); false when it does not fit. */
  tryAcquire(bytes: number): boolean {
    if (this.requests >= this.limits.maxRequests) return false;
    if (this.requests >= 2 && this.latencyMs > TARGET_LATENCY_MS) return false;
    // The event loop itself is behind: requests queue before any handler runs (a pipeline that answers
    // synchronously leaves nothing "in flight" to count). Then one request is admitted per stall of the
    // loop (none since its timer last ran): the others, handled in the same stall, get a cheap refusal, the
    // queue drains, and the process keeps working at its saturation rate instead of answering everyone
    // late. A lone client after a pause (a GC, a slow batch) is still admitted.
    // Only a sustained lag counts (the moving average, and the loop behind right now): one pause (a GC, a
    // compile, a big batch) must not refuse the next client.
    // (Requests merely in flight do not count here: one may be a slow client whose body is still arriving,
    // using no CPU; on a busy machine that would refuse a second client for nothing.)
    if (loopLag.sustained() > MAX_LOOP_LAG_MS && loopLag.ms() > MAX_LOOP_LAG_MS && this.lastAdmitAt > loopLag.lastTickAt) return false;
    // A request larger than the whole budget still goes through when nothing else is in flight.
    if (this.bytes > 0 && this.bytes + bytes > this.limits.maxBytes) return false;
    this.requests++;
    this.bytes += bytes;
    this.budget.add(bytes);
    this.lastAdmitAt = performance.now();
    return true;
  }

  /** Grows a request's share by `bytes` once its body turns out larger than announced; false if over. */
  tryGrow(bytes: number): boolean {
    if (bytes <= 0) return true;
    if (this.bytes + bytes > this.limits.maxBytes && this.bytes > 0) return false;
    this.bytes += bytes;
    this.budget.add(bytes);
    return true;
  }

  /** Gives back `bytes` of a request that keeps its slot (see {@link tryGrow}). */
  shrink(bytes: number): void {
    this.bytes -= bytes;
    this.budget.add(-bytes);
  }

  /** Gives back a request's slot and its `bytes`. */
  release(bytes: number): void {
    this.requests--;
    this.bytes -= bytes;
    this.budget.add(-bytes);
  }
}
