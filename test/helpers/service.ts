import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { formatConfigError, loadConfig } from '../../src/config/load.ts';
import { type Logger, silentLogger } from '../../src/logger.ts';
import { Service } from '../../src/service.ts';
import { components } from '../../app/components.ts';

/**
 * Writes `yaml` as `<dir>/pipelines.yaml`, loads it (expecting no config error) and starts a Service on it,
 * in this process, logging to `logger` (silent by default). The caller shuts it down.
 */
export async function startService(dir: string, yaml: string, logger: Logger = silentLogger()): Promise<Service> {
  const file = path.join(dir, 'pipelines.yaml');
  fs.writeFileSync(file, yaml);
  const loaded = await loadConfig([file], components);
  expect(loaded.errors.map(formatConfigError)).toEqual([]);
  const service = new Service(loaded.config!, { logger, registry: components });
  await service.start();
  return service;
}

/**
 * Starts a vigil whose alerts processor has no rules, for its silences API: a pipeline nop -> alerts -> nop, the
 * telemetry endpoint on a free loopback port with unauthenticated writes (as Alertmanager takes them), state under
 * `<dir>/state`. Returns the service (the caller shuts it down) and the API's base URL.
 */
export async function startSilencesApi(dir: string): Promise<{ service: Service; url: string }> {
  const service = await startService(
    dir,
    `receivers:
  nop:
processors:
  alerts: {}
exporters:
  nop:
service:
  state_dir: ${dir}/state
  telemetry: {endpoint: "127.0.0.1:0", logs: {level: error}, api: {unauthenticated_writes: true}}
  pipelines:
    main: {receivers: [nop], processors: [alerts], exporters: [nop]}
`,
  );
  return { service, url: `http://127.0.0.1:${service.telemetryPort}` };
}
