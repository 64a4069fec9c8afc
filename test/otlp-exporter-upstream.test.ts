/**
 * The otlp exporter against plain HTTP upstreams that answer in ways the happy path does not: partial
 * success counts that are not numbers, a huge error body, redirects, headers the protocol cannot carry.
 */
import http from 'node:http';
import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { otlpExporterFactory } from '../exporters/otlp/index.ts';
import type { OtlpExporter } from '../exporters/otlp/otlp-exporter.ts';
import { createTransport } from '../exporters/otlp/transport.ts';
import type { Component } from '../src/component.ts';
import type { CountEvent } from '../src/telemetry.ts';
import { fromOtlpJson } from '../src/otlp/json.ts';
import { configFor, recordingLogger, testSettings, waitFor } from './helpers/index.ts';
import { readFixtureFile } from './intake-fixtures.ts';

const started: Component[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).reverse().map((c) => c.shutdown()));
});

interface Seen {
  path: string;
  method: string;
  auth: string | undefined;
  bytes: number;
}

/** A plain HTTP upstream on loopback; `answer` decides each response. */
async function upstream(answer: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => {
      seen.push({ path: req.url!, method: req.method!, auth: req.headers.authorization, bytes });
      answer(req, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  started.push({
    start: async () => undefined,
    shutdown: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  });
  return { url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, seen };
}

function transport(raw: Record<string, unknown>) {
  const t = createTransport(configFor(otlpExporterFactory, raw), 5000);
  started.push({ start: async () => undefined, shutdown: () => t.close() });
  return t;
}

const traces = fromOtlpJson('traces', readFixtureFile('trace.json'));

describe('otlp exporter: partial success', () => {
  it('reads a rejected count sent as a JSON string, and counts an unreadable one as 0, never NaN', async () => {
    let rejected: unknown = '2';
    const up = await upstream((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ partialSuccess: { rejectedSpans: rejected, errorMessage: 'bad spans' } })),
    );
    const t = transport({ endpoint: up.url, protocol: 'http/json' });
    expect(await t.send('traces', Buffer.from('{}'))).toEqual({ rejected: 2, errorMessage: 'bad spans' });
    for (const bad of ['many', -3, 1.5, null, { n: 1 }]) {
      rejected = bad;
      expect(await t.send('traces', Buffer.from('{}'))).toEqual({ rejected: 0, errorMessage: 'bad spans' });
    }
  });

  it.each([
    ['traces', 'rejected_spans'],
    ['metrics', 'rejected_data_points'],
    ['logs', 'rejected_log_records'],
  ] as const)('%s: reads a JSON partial success written with the proto field names (%s), as the JSON mapping allows', async (signal, key) => {
    const up = await upstream((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify({ partial_success: { [key]: '4', error_message: 'four refused' } })),
    );
    const t = transport({ endpoint: up.url, protocol: 'http/json' });
    expect(await t.send(signal, Buffer.from('{}'))).toEqual({ rejected: 4, errorMessage: 'four refused' });
  });

  it.each([
    ['queued', { storage: 'memory' }],
    ['without a queue', { enabled: false }],
  ])('%s: a count that is not a number leaves the sent and failed counters numbers', async (_name, sendingQueue) => {
    const up = await upstream((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"partialSuccess":{"rejectedSpans":"lots","errorMessage":"x"}}'),
    );
    const counted: { event: CountEvent; n: number }[] = [];
    const settings = testSettings('exporter', 'otlp/nan');
    const telemetry = Object.create(settings.telemetry) as typeof settings.telemetry;
    telemetry.count = (event, _signal, n) => void counted.push({ event, n });
    const exp = otlpExporterFactory.create({ ...settings, telemetry }, configFor(otlpExporterFactory, { endpoint: up.url, protocol: 'http/json', sending_queue: sendingQueue })) as OtlpExporter;
    await exp.start();
    started.push(exp);
    await exp.consume(traces);
    await waitFor(() => counted.some((c) => c.event === 'sent'));
    expect(counted.every((c) => Number.isInteger(c.n) && c.n >= 0)).toBe(true);
  });

  it('logs a warning that came with nothing rejected', async () => {
    const up = await upstream((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"partialSuccess":{"errorMessage":"attribute gen_ai.prompt is deprecated"}}'),
    );
    const { logger, lines } = recordingLogger();
    const exp = otlpExporterFactory.create(testSettings('exporter', 'otlp/warn', { logger }), configFor(otlpExporterFactory, { endpoint: up.url, protocol: 'http/json', sending_queue: { storage: 'memory' } })) as OtlpExporter;
    await exp.start();
    started.push(exp);
    await exp.consume(traces);
    await waitFor(() => up.seen.length === 1 && exp.queued === 0);
    expect(lines.some((l) => l.includes('gen_ai.prompt is deprecated'))).toBe(true);
  });
});

describe('otlp exporter: response bodies', () => {
  it('reads at most 64 KiB of an error body and drops the rest', async () => {
    let finished: Promise<boolean> = Promise.resolve(true);
    const up = await upstream((_req, res) => {
      finished = new Promise((r) => res.on('close', () => r(res.writableFinished)));
      res.writeHead(500, { 'content-type': 'text/plain' });
      const chunk = Buffer.alloc(1 << 20, 97);
      let left = 64; // 64 MiB, more than any socket buffers
      const more = () => {
        while (left > 0) {
          left--;
          if (!res.write(chunk)) return void res.once('drain', more);
        }
        res.end();
      };
      more();
    });
    const t = transport({ endpoint: up.url, protocol: 'http/protobuf' });
    const err = await t.send('traces', Buffer.from('')).catch((e: Error & { retryable: boolean }) => e);
    expect(err).toMatchObject({ retryable: false });
    expect((err as Error).message).toMatch(/HTTP 500: a+$/);
    expect((err as Error).message.length).toBeLessThan(1000);
    expect(await finished).toBe(false); // the upstream never got to write it all: the exporter stopped reading
  });
});

describe('otlp exporter: redirects', () => {
  it('follows 307 and 308 with the same POST body; keeps credentials on the same origin only', async () => {
    const other = await upstream((_req, res) => res.writeHead(200).end());
    const up = await upstream((req, res) => {
      if (req.url === '/old/v1/traces') res.writeHead(307, { location: '/new/v1/traces' }).end();
      else if (req.url === '/new/v1/traces') res.writeHead(308, { location: `${other.url}/final/v1/traces` }).end();
      else res.writeHead(404).end();
    });
    const t = transport({ endpoint: `${up.url}/old`, protocol: 'http/protobuf', headers: { authorization: 'Bearer secret' }, compression: 'none' });
    const body = Buffer.from('0a00', 'hex');
    expect(await t.send('traces', body)).toEqual({ rejected: 0, errorMessage: '' });
    expect(up.seen).toEqual([
      { path: '/old/v1/traces', method: 'POST', auth: 'Bearer secret', bytes: 2 },
      { path: '/new/v1/traces', method: 'POST', auth: 'Bearer secret', bytes: 2 },
    ]);
    expect(other.seen).toEqual([{ path: '/final/v1/traces', method: 'POST', auth: undefined, bytes: 2 }]);
  });

  it('does not follow a redirect that would turn the POST into a GET, and says where it pointed', async () => {
    const up = await upstream((_req, res) => res.writeHead(301, { location: 'https://gateway.example.com/v1/traces' }).end());
    const t = transport({ endpoint: up.url, protocol: 'http/protobuf' });
    const err = await t.send('traces', Buffer.from('')).catch((e: Error) => e);
    expect(err).toMatchObject({ retryable: false });
    expect((err as Error).message).toMatch(/HTTP 301: redirect to https:\/\/gateway\.example\.com\/v1\/traces not followed/);
    expect(up.seen).toHaveLength(1);
  });

  it('stops after a few hops of a redirect loop', async () => {
    const up = await upstream((_req, res) => res.writeHead(307, { location: '/v1/traces' }).end());
    const t = transport({ endpoint: up.url, protocol: 'http/protobuf' });
    const err = await t.send('traces', Buffer.from('')).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/HTTP 307/);
    expect(up.seen).toHaveLength(6);
  });
});

describe('otlp exporter: headers', () => {
  const issues = (raw: Record<string, unknown>) => {
    try {
      configFor(otlpExporterFactory, raw);
      return '';
    } catch (e) {
      return (e as Error).message;
    }
  };

  it('refuses at load time a header the protocol cannot carry, naming it', () => {
    expect(issues({ endpoint: 'http://127.0.0.1:4318', protocol: 'http/protobuf', headers: { authorization: 'Bearer abc\n' } })).toMatch(/headers\.authorization: .*line break/);
    expect(issues({ endpoint: 'http://127.0.0.1:4318', protocol: 'http/json', headers: { 'x token': 'a' } })).toMatch(/headers\.x token: not an HTTP header name/);
    expect(issues({ endpoint: '127.0.0.1:4317', headers: { 'x-id-bin': 'abc' } })).toMatch(/headers\.x-id-bin: binary gRPC metadata/);
    expect(issues({ endpoint: '127.0.0.1:4317', headers: { 'x/y': 'abc' } })).toMatch(/headers\.x\/y: not a gRPC metadata key/);
    expect(issues({ endpoint: '127.0.0.1:4317', headers: { 'x-name': 'café' } })).toMatch(/headers\.x-name: the value/);
    expect(issues({ endpoint: '127.0.0.1:4317', headers: { Authorization: 'Bearer abc', 'X-Scope-OrgID': 'team-1' } })).toBe('');
    expect(issues({ endpoint: 'http://127.0.0.1:4318', protocol: 'http/protobuf', headers: { Authorization: 'Bearer abc', 'X-Scope-OrgID': 'team-1' } })).toBe('');
  });
});
