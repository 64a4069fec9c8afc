/**
 * The google.rpc.Status an OTLP/HTTP error answer carries names the gRPC code that means what the HTTP
 * status means, in the request's encoding: 405 is UNIMPLEMENTED (as 404), 408 DEADLINE_EXCEEDED (as the
 * gRPC side answers a message that did not arrive within read_timeout), never INTERNAL; a 401 carries the
 * `WWW-Authenticate` header RFC 9110 requires.
 */
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { otlpReceiverFactory } from '../receivers/otlp/index.ts';
import type { OtlpReceiver } from '../receivers/otlp/otlp-receiver.ts';
import { decodeRpcStatus } from '../src/otlp/proto.ts';
import { closeClientConnections, configFor, SinkConsumer, testSettings } from './helpers/index.ts';

const running: OtlpReceiver[] = [];
afterEach(async () => {
  await closeClientConnections();
  await Promise.all(running.splice(0).map((r) => r.shutdown()));
});

async function start(raw: Record<string, unknown> = {}) {
  const r = otlpReceiverFactory.create(
    testSettings('receiver', 'otlp', { emit: new SinkConsumer() }),
    configFor(otlpReceiverFactory, { protocols: { http: { endpoint: '127.0.0.1:0' } }, ...raw }),
  ) as OtlpReceiver;
  await r.start();
  running.push(r);
  return r;
}

describe('OTLP/HTTP error status bodies', () => {
  it('answers a method other than POST with 405, Allow: POST and UNIMPLEMENTED in the request\'s encoding', async () => {
    const r = await start();
    for (const method of ['GET', 'PUT', 'DELETE'] as const) {
      const pb = await request(`http://${r.httpAddress}/v1/metrics`, { method, headers: { 'content-type': 'application/x-protobuf' } });
      expect(pb.statusCode).toBe(405);
      expect(pb.headers.allow).toBe('POST');
      expect(pb.headers['content-type']).toBe('application/x-protobuf');
      expect(decodeRpcStatus(Buffer.from(await pb.body.arrayBuffer()))).toEqual({ code: grpc.status.UNIMPLEMENTED, message: `method ${method} not allowed on /v1/metrics: use POST` });
      const js = await request(`http://${r.httpAddress}/v1/logs`, { method, headers: { 'content-type': 'application/json' } });
      expect(js.statusCode).toBe(405);
      expect(js.headers['content-type']).toBe('application/json');
      expect(JSON.parse(await js.body.text())).toEqual({ code: grpc.status.UNIMPLEMENTED, message: `method ${method} not allowed on /v1/logs: use POST` });
    }
  });

  it('answers a body that does not arrive within read_timeout with 408 and DEADLINE_EXCEEDED', async () => {
    const r = await start({ read_timeout: '300ms' });
    const [host, port] = [r.httpAddress.slice(0, r.httpAddress.lastIndexOf(':')), Number(r.httpAddress.slice(r.httpAddress.lastIndexOf(':') + 1))];
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, host, () => {
        // headers promising 100 bytes, then only 10 of them
        socket.write(`POST /v1/traces HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"resource`);
      });
      let text = '';
      socket.on('data', (d) => (text += d.toString('utf8')));
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    const body = answer.slice(answer.indexOf('\r\n\r\n') + 4);
    expect(JSON.parse(body)).toEqual({ code: grpc.status.DEADLINE_EXCEEDED, message: 'request body not received within read_timeout (300 ms)' });
  });

  it('answers a missing or wrong bearer token with 401, WWW-Authenticate: Bearer and UNAUTHENTICATED', async () => {
    const r = await start({ auth: { bearer_token: 'right' } });
    for (const authorization of [undefined, 'Bearer wrong', 'Basic cmlnaHQ=']) {
      const res = await request(`http://${r.httpAddress}/v1/traces`, {
        method: 'POST',
        body: '{}',
        headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      });
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer');
      expect(JSON.parse(await res.body.text())).toEqual({ code: grpc.status.UNAUTHENTICATED, message: 'missing or invalid bearer token' });
    }
    const ok = await request(`http://${r.httpAddress}/v1/traces`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json', authorization: 'bearer right' } });
    expect(ok.statusCode).toBe(200);
    await ok.body.text();
  });
});
