// The environment that runs the repository's own pipelines.yaml inside `dir` without touching the machine:
// state, the alerts file and the telemetry file under `dir`, every listener on an ephemeral loopback port. Shared by
// bench/daemon.ts, test/startup-modules.test.ts and import-costs.mjs (each adds what it needs on top).
import path from 'node:path';

/** `VIGIL_*` variables of pipelines.yaml for a run in `dir` (state, alerts and telemetry files, listeners on 127.0.0.1:0). */
export function shippedConfigEnv(dir) {
  return {
    VIGIL_STATE_DIR: path.join(dir, 'state'),
    VIGIL_ALERTS_FILE: path.join(dir, 'alerts.jsonl'),
    VIGIL_TELEMETRY_FILE: path.join(dir, 'telemetry.jsonl'),
    VIGIL_OTLP_GRPC_ENDPOINT: '127.0.0.1:0',
    VIGIL_OTLP_HTTP_ENDPOINT: '127.0.0.1:0',
    VIGIL_HTTP_JSON_ENDPOINT: '127.0.0.1:0',
    VIGIL_PROMETHEUS_ENDPOINT: '127.0.0.1:0',
    VIGIL_TELEMETRY_ENDPOINT: '127.0.0.1:0',
  };
}
