/**
 * The otlp exporter keeps the order of what it forwards across a retry: a request waiting for its retry keeps
 * its consumer (as the Collector's exporters do), so with `num_consumers: 1` the upstream gets the requests in
 * the order they were queued, on disk and in memory. Before, the requests queued behind a failed one went
 * ahead of it, and a gateway got cumulative points out of order.
 */
import http from 'node:http';
import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { otlpExporterFactory } from '../exporters/otlp/index.ts';
import type { OtlpExporter } from '../exporters/otlp/otlp-exporter.ts';
import { parseOtlpJson } from '../src/otlp/json.ts';
import { configFor, tempDir, testSettings, waitFor } from './helpers/index.ts';

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

const span = (name: string) =>
  parseOtlpJson('traces', `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"${name}"}]}]}]}`);

describe('otlp exporter: order across retries', () => {
  it.each(['disk', 'memory'])('storage %s, num_consumers 1: a failed request is retried before the ones queued after it', async (storage) => {
    const seen: string[] = [];
    let failures = 2;
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const name = /"name":"(\w+)"/.exec(Buffer.concat(chunks).toString('utf8'))?.[1] ?? '?';
        if (name === 'first' && failures-- > 0) {
          seen.push(`${name}:503`);
          res.writeHead(503).end();
          return;
        }
        seen.push(name);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    stops.push(() => new Promise<void>((r) => server.close(() => r())));
    const exp = otlpExporterFactory.create(
      testSettings('exporter', 'otlp/ordered', { stateDir: tempDir() }),
      configFor(otlpExporterFactory, {
        endpoint: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
        protocol: 'http/json',
        compression: 'none',
        retry: { initial_interval: '20ms', max_interval: '40ms' },
        sending_queue: { storage, num_consumers: 1 },
      }),
    ) as OtlpExporter;
    await exp.start();
    stops.push(() => exp.shutdown());
    for (const name of ['first', 'second', 'third', 'fourth']) await exp.consume(span(name));
    await waitFor(() => seen.length === 6, 10_000, 'six answers upstream');
    expect(seen).toEqual(['first:503', 'first:503', 'first', 'second', 'third', 'fourth']);
  });
});
