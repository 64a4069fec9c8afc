/**
 * `/healthz` at saturation, on the event loop the pipelines run on (issue 11: under 50 ms at twice saturation;
 * the latency itself is a figure of `npm run chaos overload`). Intake work runs one request per loop turn
 * (src/otlp/connections.ts `intakeTurn`); a connection the telemetry endpoint accepts makes the next turn yield
 * (`yieldTurn`), so its request, which libuv reads at the loop's next poll, waits for at most the intake turn that
 * was running when it came, not for one more. Counted in turns, not timed: each queued turn is a busy 25 ms.
 */
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { intakeTurn } from '../src/otlp/connections.ts';
import { ServiceTelemetry } from '../src/telemetry.ts';

const busy = (ms: number) => {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // a request's decoding and processing, as far as the loop can tell
  }
};

/** Queues `n` intake turns of `ms` each; `during(i)` runs at the start of turn i (1-based). */
function queueTurns(n: number, ms: number, during: (i: number) => void): { done: () => number; all: Promise<void> } {
  let done = 0;
  const all = Promise.all(
    Array.from({ length: n }, (_, k) =>
      intakeTurn().then(() => {
        during(k + 1);
        busy(ms);
        done++;
      }),
    ),
  ).then(() => undefined);
  return { done: () => done, all };
}

describe('/healthz while intake turns are queued', () => {
  it('a new connection is read before the next turn: the probe waits for the turn running when it came, not one more', async () => {
    const t = new ServiceTelemetry();
    const { port } = await t.listen('127.0.0.1:0');
    try {
      let doneAtRequest = -1;
      let turns: ReturnType<typeof queueTurns> | undefined;
      let answered: Promise<{ status: number; body: string; cacheControl: string | undefined }> | undefined;
      const probe = () =>
        new Promise<{ status: number; body: string; cacheControl: string | undefined }>((resolve, reject) => {
          const req = http.get({ host: '127.0.0.1', port, path: '/healthz', agent: false }, (res) => {
            let body = '';
            res.on('data', (c: Buffer) => (body += c.toString()));
            res.on('end', () => resolve({ status: res.statusCode!, body, cacheControl: res.headers['cache-control'] }));
          });
          req.on('error', reject);
        });
      // the count of finished turns when the endpoint sees the request
      const onRequest = () => (doneAtRequest = turns!.done());
      // the probe connects during turn 3; turns 1 and 2 are done then, turn 3 finishes before the loop polls
      turns = queueTurns(12, 25, (i) => {
        if (i === 3) answered = probe();
      });
      // the listener is the endpoint's own server: watch its requests
      (t as unknown as { server: http.Server }).server.prependListener('request', onRequest);
      await turns.all;
      const r = await answered!;
      expect(r).toEqual({ status: 200, body: 'ok\n', cacheControl: 'no-store' });
      // turn 3 was running when the connection came: without the yield, turn 4 ran before the request was read
      expect(doneAtRequest).toBe(3);
    } finally {
      await t.close();
    }
  });

  it('a flood of connections slows intake by a poll each, never stops it: every queued turn runs', async () => {
    const t = new ServiceTelemetry();
    const { port } = await t.listen('127.0.0.1:0');
    try {
      const probes: Promise<number>[] = [];
      const turns = queueTurns(40, 1, () => {
        for (let i = 0; i < 5; i++)
          probes.push(
            new Promise((resolve) => {
              const req = http.get({ host: '127.0.0.1', port, path: '/healthz', agent: false }, (res) => {
                res.resume();
                res.on('end', () => resolve(res.statusCode!));
              });
              req.on('error', () => resolve(0));
            }),
          );
      });
      await turns.all;
      expect(turns.done()).toBe(40);
      const statuses = await Promise.all(probes);
      expect(statuses.filter((s) => s === 200)).toHaveLength(200);
    } finally {
      await t.close();
    }
  });
});
