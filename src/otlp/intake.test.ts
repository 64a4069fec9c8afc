import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../logger.ts';
import { BodyPool, HttpIntakeServer } from './intake.ts';

const servers: HttpIntakeServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.shutdown()));
});

describe('BodyPool', () => {
  it('reuses a given-back buffer, takes the smallest that fits, and keeps at most its byte budget', () => {
    const pool = new BodyPool(200_000, 150_000);
    const a = pool.take(70_000);
    expect(a.length).toBe(131_072);
    pool.give(a);
    expect(pool.take(10)).toBe(a);
    pool.give(a);
    const small = pool.take(1); // a is the only idle buffer: reused even though larger
    expect(small).toBe(a);
    const big = pool.take(140_000);
    pool.give(big); // 196,608 bytes: over maxBuffer, dropped
    expect(pool.idle).toBe(0);
    const b = pool.take(60_000);
    pool.give(a);
    pool.give(b); // 131,072 + 65,536 fits the 200,000 budget
    expect(pool.idle).toBe(196_608);
    pool.give(Buffer.allocUnsafeSlow(65_536)); // over budget: no smaller idle buffer to let go, dropped
    expect(pool.idle).toBe(196_608);
  });
});

describe('HttpIntakeServer with a reused body buffer', () => {
  it('hands every concurrent multi-chunk request its own bytes', async () => {
    const seen: string[] = [];
    const server = new HttpIntakeServer({
      endpoint: '127.0.0.1:0',
      routes: {
        '/echo': {
          contentTypes: [],
          releasesBody: true,
          handle: async ({ body }) => {
            const first = body.toString('latin1');
            await new Promise((r) => setTimeout(r, 5)); // others are read meanwhile
            seen.push(first);
            return { status: 200, contentType: 'text/plain', body: `${body.length}:${first === body.toString('latin1')}` };
          },
        },
      },
      maxBodyBytes: 4 * 1024 * 1024,
      readTimeoutMs: 5000,
      tls: { cert_file: '', key_file: '', client_ca_file: '' },
      bearerToken: '',
      logger: silentLogger(),
      formatError: (status, message) => ({ status, contentType: 'text/plain', body: message }),
    });
    await server.start();
    servers.push(server);
    // Several 64 KiB writes each, so that the body arrives in chunks and is joined in a pooled buffer.
    const bodies = Array.from({ length: 12 }, (_, i) => Buffer.alloc(200_000 + i * 1000, String.fromCharCode(65 + i)));
    const send = (body: Buffer) =>
      new Promise<string>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: server.port, method: 'POST', path: '/echo', headers: { 'content-length': body.length } }, (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve(text));
        });
        req.on('error', reject);
        for (let at = 0; at < body.length; at += 65536) req.write(body.subarray(at, at + 65536));
        req.end();
      });
    for (let round = 0; round < 2; round++) {
      const replies = await Promise.all(bodies.map(send));
      expect(replies).toEqual(bodies.map((b) => `${b.length}:true`));
    }
    expect(seen.sort()).toEqual([...bodies, ...bodies].map((b) => b.toString('latin1')).sort());
  });
});
