import { decodeExportRequest } from '../src/otlp/proto.ts';
import { stringifyOtlpJson } from '../src/otlp/json.ts';
import { genAiTracesRequest } from './ingest.ts';
const batches = await Promise.all([0, 1, 2, 3].map(async (seed) => decodeExportRequest('traces', await genAiTracesRequest(512, seed))));
let x = 0;
for (let i = 0; i < 1500; i++) { const s = stringifyOtlpJson(batches[i % 4]!, 'traces'); x += Buffer.byteLength(s); }
console.log(x);
