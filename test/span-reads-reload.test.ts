/**
 * What the OTLP receiver's decoder builds of a span follows the pipelines behind it across reloads: the
 * receiver is kept running (its config did not change) while an exporter that reads whole spans comes and
 * goes, and each request is decoded for the pipelines in force when it arrives (receivers/otlp/README.md,
 * "Only what something reads of a span").
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { loadConfig } from '../src/config/load.ts';
import { silentLogger } from '../src/logger.ts';
import type { Span } from '../src/model.ts';
import { UNDECODED_ID, encodeExportRequest } from '../src/otlp/proto.ts';
import { Service } from '../src/service.ts';
import type { OtlpReceiver } from '../receivers/otlp/otlp-receiver.ts';
import { created, testRegistry } from './helpers/doubles.ts';
import { tempDir } from './helpers/index.ts';
import { resourceSpans, span } from './percentiles-helpers.ts';

const services: Service[] = [];
afterEach(async () => {
  for (const s of services.splice(0)) await s.shutdown();
});

const TRACE_ID = '5b8efff798038103d269b633813fc60c';
const SPAN_ID = 'eee19b7ec3c1b174';

/**
 * The config: otlp -> testsink/counting (reads one attribute, no ids), and with `whole` also testsink/whole
 * (declares nothing). With `delayMs`, the counting sink takes that long per batch.
 */
function config(dir: string, whole: boolean, delayMs = 0): unknown {
  const exporters: Record<string, unknown> = { 'testsink/counting': { span_attributes: ['gen_ai.request.model'], delay_ms: delayMs } };
  if (whole) exporters['testsink/whole'] = {};
  return {
    receivers: { otlp: { protocols: { http: { endpoint: '127.0.0.1:0' } } } },
    exporters,
    service: { state_dir: dir, telemetry: { endpoint: '127.0.0.1:0' }, pipelines: { traces: { receivers: ['otlp'], exporters: Object.keys(exporters) } } },
  };
}

/** The receiver's HTTP address (read it outside a reload: the service has no pipelines while it swaps them). */
const addressOf = (svc: Service): string => (svc.pipelines!.get('receiver', 'otlp') as OtlpReceiver).httpAddress;

/** Posts one span named `name`, of two attributes, to the receiver at `address`. */
function send(address: string, name = 'chat'): Promise<Response> {
  const sp = { ...span(Date.now(), 5, { name, attributes: [{ key: 'gen_ai.request.model', value: 'gpt-4o' }, { key: 'gen_ai.response.id', value: 'chatcmpl-1' }] }), traceId: TRACE_ID, spanId: SPAN_ID };
  const body = encodeExportRequest({ resourceSpans: [resourceSpans('svc', [sp])] }, 'traces');
  return fetch(`http://${address}/v1/traces`, { method: 'POST', body, headers: { 'content-type': 'application/x-protobuf' } });
}

/** The spans a sink got. */
const spansOf = (sink: string): Span[] => created.get(sink)!.received.flatMap((b) => b.resourceSpans!.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans)));

/** Posts one span; returns the spans the counting sink got from it. */
async function post(svc: Service): Promise<Span[]> {
  const before = spansOf('testsink/counting').length;
  expect((await send(addressOf(svc))).status).toBe(200);
  return spansOf('testsink/counting').slice(before);
}

describe('span reads across reloads', () => {
  it('decodes only what the pipelines read, whole again once an exporter reads whole spans, and back', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'c.yaml');
    fs.writeFileSync(file, YAML.stringify(config(dir, false)));
    const { config: loaded } = await loadConfig([file], testRegistry);
    const svc = new Service(loaded!, { logger: silentLogger(), registry: testRegistry });
    services.push(svc);
    await svc.start();
    const receiver = svc.pipelines!.get('receiver', 'otlp');

    const slim = (await post(svc))[0]!;
    expect([slim.traceId, slim.spanId, slim.attributes]).toEqual([UNDECODED_ID, UNDECODED_ID, [{ key: 'gen_ai.request.model', value: 'gpt-4o' }]]);

    fs.writeFileSync(file, YAML.stringify(config(dir, true)));
    expect(await svc.reload([file])).toBe(true);
    expect(svc.pipelines!.get('receiver', 'otlp')).toBe(receiver); // kept running, re-pointed
    const whole = (await post(svc))[0]!;
    expect([whole.traceId, whole.spanId, whole.attributes.map((a) => a.key)]).toEqual([TRACE_ID, SPAN_ID, ['gen_ai.request.model', 'gen_ai.response.id']]);

    fs.writeFileSync(file, YAML.stringify(config(dir, false)));
    expect(await svc.reload([file])).toBe(true);
    const again = (await post(svc))[0]!;
    expect([again.traceId, again.attributes.length]).toEqual([UNDECODED_ID, 1]);
  });

  it('decodes again, whole, a request decoded for the pipelines a reload replaces while it waits (found in review)', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'c.yaml');
    fs.writeFileSync(file, YAML.stringify(config(dir, false, 600)));
    const { config: loaded } = await loadConfig([file], testRegistry);
    const svc = new Service(loaded!, { logger: silentLogger(), registry: testRegistry });
    services.push(svc);
    await svc.start();

    const address = addressOf(svc);
    // "a" is in the slow counting sink: the reload waits for it with the receiver's emit held
    const a = send(address, 'a');
    await new Promise((r) => setTimeout(r, 100));
    fs.writeFileSync(file, YAML.stringify(config(dir, true, 600)));
    const reloaded = svc.reload([file]);
    await new Promise((r) => setTimeout(r, 100));
    // "b" arrives during the hold: decoded for the old pipelines (one attribute, no ids), delivered to the new ones
    const b = send(address, 'b');
    expect((await a).status).toBe(200);
    expect(await reloaded).toBe(true);
    expect((await b).status).toBe(200);

    // the new exporter reads whole spans: it gets "b" whole, once; the counting sink gets it once too
    const whole = spansOf('testsink/whole').filter((s) => s.name === 'b');
    expect(whole.map((s) => [s.traceId, s.spanId, s.attributes.map((x) => x.key)])).toEqual([[TRACE_ID, SPAN_ID, ['gen_ai.request.model', 'gen_ai.response.id']]]);
    expect(spansOf('testsink/counting').filter((s) => s.name === 'b')).toHaveLength(1);
  });
});
