/**
 * Decoding amplification through the shipped sidecar config (deploy/kubernetes/sidecar.yaml, its NODE_OPTIONS heap cap):
 * OTLP/protobuf requests just under max_request_body_size (4 MiB) made of minimal valid spans (ids, a
 * one-letter name, times: ~52 bytes each, ~80,000 spans a request) decode into far more memory than their
 * bytes, many at once over HTTP and gRPC. Then ordinary traffic.
 * Figures: statuses, RSS over time, time until ordinary data is accepted again.
 * Invariants: no crash (no "heap out of memory"), RSS under the container's memory limit, no 500, ordinary
 * data accepted again within seconds.
 */
import fs from 'node:fs';
import { AMPLIFYING_SHAPES, type AmplifyingShape, amplifyingRequest } from '../test/helpers/amplifying-requests.ts';
import { Invariants, SHORT, figure, request, rssLine, sampleRss, sleep, startFromManifest, tally, traceJson } from './lib.ts';

const inv = new Invariants('amplification');
const ROUNDS = SHORT ? 4 : 8;
const CONCURRENT = 16;
const HEAP_MIB = 192;

const { vigil, httpPort, containerLimitMiB: CONTAINER_LIMIT_MIB, close } = await startFromManifest(HEAP_MIB);
const rss = sampleRss(vigil.pid, 1000);
/**
 * The shapes that decode into the most memory per byte (test/helpers/amplifying-requests.ts), sized to just
 * under 4 MiB each. AMPLIFICATION_SHAPE picks one; by default each round uses the next.
 */
const SHAPES = AMPLIFYING_SHAPES;
type Shape = AmplifyingShape;
const ITEMS: Record<Shape, number> = { spans: 78_000, events: 790_000, resources: 70_000, attributes: 1_900_000 };
const amplified = (shape: Shape, seed: number): Buffer => amplifyingRequest(shape, ITEMS[shape], seed);
const only = process.env.AMPLIFICATION_SHAPE as Shape | undefined;
if (only && !SHAPES.includes(only)) throw new Error(`AMPLIFICATION_SHAPE must be one of ${SHAPES.join(', ')}`);
const shapeOf = (round: number): Shape => only ?? SHAPES[round % SHAPES.length]!;
for (const shape of only ? [only] : SHAPES) {
  const b = amplified(shape, 1);
  figure(`request (${shape})`, `${(b.length / 1048576).toFixed(2)} MiB of protobuf`);
}
const statuses: string[] = [];
const t0 = Date.now();
for (let r = 0; r < ROUNDS && !vigil.exited(); r++) {
  const batch = Array.from({ length: CONCURRENT }, (_, i) =>
    request(`http://127.0.0.1:${httpPort}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf', authorization: 'Bearer chaos-token' }, body: amplified(shapeOf(r), r * 100 + i + 2), timeoutMs: 30_000 }).then((x) => void statuses.push(x.status ? String(x.status) : `no answer (${x.error})`)),
  );
  await Promise.all(batch);
}
figure('amplified requests', `${ROUNDS} rounds of ${CONCURRENT} at once in ${((Date.now() - t0) / 1000).toFixed(1)} s; statuses ${JSON.stringify(tally(statuses))}`);
const end = Date.now();
const after: { t: number; status: string }[] = [];
while (Date.now() - end < 15_000 && !vigil.exited()) {
  const r = await request(`http://127.0.0.1:${httpPort}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer chaos-token' }, body: traceJson(20, { name: () => 'checkout' }), timeoutMs: 10_000 });
  after.push({ t: (Date.now() - end) / 1000, status: r.status ? String(r.status) : 'no answer' });
  await sleep(200);
}
const firstOk = after.find((a) => a.status === '200');
figure('after', `statuses ${JSON.stringify(tally(after.map((a) => a.status)))}; first 200 after ${firstOk ? `${firstOk.t.toFixed(1)} s` : 'never'}`);
const crashed = vigil.exited();
const code = await vigil.stop();
const samples = rss.stop();
figure('RSS MiB over time', rssLine(samples));
const oom = /heap out of memory/i.test(vigil.stderr());
if (crashed) {
  figure('stderr (tail)', vigil.stderr().slice(-600));
  if (process.env.AMPLIFICATION_STDERR) fs.writeFileSync(process.env.AMPLIFICATION_STDERR, vigil.stderr());
}
inv.check(!crashed && !oom, `no crash (${crashed ? `exited: ${code}${oom ? ', heap out of memory' : ''}` : 'still running'})`);
inv.check(Math.max(...samples.map((s) => s[1])) < CONTAINER_LIMIT_MIB, `RSS stayed under ${CONTAINER_LIMIT_MIB} MiB (max ${Math.max(...samples.map((s) => s[1]))})`);
inv.check(![...statuses, ...after.map((a) => a.status)].some((s) => s.startsWith('5') && s !== '503'), 'no 500');
inv.check(statuses.every((x) => !x.startsWith('no answer')), `every request answered (${statuses.filter((x) => x.startsWith('no answer')).length} not: a refusal must reach a client still sending its body)`);
inv.check(!!firstOk && firstOk.t < 10, 'ordinary data accepted again within 10 s');
close();
inv.finish();
