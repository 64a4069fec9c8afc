/**
 * An OTLP receiver with only the HTTP protocol: @grpc/grpc-js is then never loaded, yet HTTP error answers
 * carry gRPC status codes (the OTLP/HTTP error body is a google.rpc.Status). This file starts no gRPC
 * listener, so that the module is really absent (a shared worker would have loaded it for another test).
 */
import * as GrpcJs from '@grpc/grpc-js';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { otlpReceiverFactory } from '../receivers/otlp/index.ts';
import type { OtlpReceiver } from '../receivers/otlp/otlp-receiver.ts';
import { configFor, SinkConsumer, testSettings } from './helpers/index.ts';

const running: OtlpReceiver[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.shutdown()));
});

describe('otlp receiver without a gRPC listener', () => {
  it('answers malformed, deeply nested and refused HTTP requests with their status and the matching gRPC code', async () => {
    const settings = testSettings('receiver', 'otlp', { emit: new SinkConsumer() });
    const r = otlpReceiverFactory.create(settings, configFor(otlpReceiverFactory, { protocols: { http: { endpoint: '127.0.0.1:0' } }, max_request_body_size: 200_000 })) as OtlpReceiver;
    await r.start();
    running.push(r);
    const post = async (body: string, contentType = 'application/json') => {
      const res = await request(`http://${r.httpAddress}/v1/traces`, { method: 'POST', body, headers: { 'content-type': contentType } });
      return { status: res.statusCode, body: JSON.parse(await res.body.text()) as { code: number; message: string } };
    };
    const deep = await post(`{"resourceSpans":${'['.repeat(5000)}1${']'.repeat(5000)}}`);
    expect(deep.status).toBe(400);
    expect(deep.body.code).toBe(GrpcJs.status.INVALID_ARGUMENT);
    const notJson = await post('{');
    expect(notJson).toMatchObject({ status: 400, body: { code: GrpcJs.status.INVALID_ARGUMENT } });
    const wrongType = await post('{}', 'text/plain');
    expect(wrongType).toMatchObject({ status: 415, body: { code: GrpcJs.status.INVALID_ARGUMENT } });
    const tooLarge = await post(`{"resourceSpans":[],"x":"${'a'.repeat(300_000)}"}`);
    expect(tooLarge).toMatchObject({ status: 413, body: { code: GrpcJs.status.RESOURCE_EXHAUSTED } });
  });
});
