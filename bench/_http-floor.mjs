// The floor under `vigil run`'s CPU at a request rate (bench/daemon.ts, BENCH_DAEMON_FLOOR=1): a plain node:http
// server that reads each request's body and answers 200 with an empty OTLP/HTTP protobuf response, nothing else
// (no decoding, no pipeline, no timers). What it costs per request is what any Node HTTP intake pays on the machine.
import http from 'node:http';

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/x-protobuf' });
    res.end();
  });
});
server.listen(0, '127.0.0.1', () => {
  // the line bench/daemon.ts waits for, in the shape of vigil's ready log
  console.log(JSON.stringify({ message: 'everything is ready', http: `127.0.0.1:${server.address().port}` }));
});
process.on('SIGTERM', () => process.exit(0));
