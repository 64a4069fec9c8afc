import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { formatConfigError, loadConfig } from '../../src/config/load.ts';
import { silentLogger } from '../../src/logger.ts';
import { Service } from '../../src/service.ts';
import { components } from '../../app/components.ts';

/**
 * Writes `yaml` as `<dir>/pipelines.yaml`, loads it (expecting no config error) and starts a Service on it,
 * in this process. The caller shuts it down.
 */
export async function startService(dir: string, yaml: string): Promise<Service> {
  const file = path.join(dir, 'pipelines.yaml');
  fs.writeFileSync(file, yaml);
  const loaded = await loadConfig([file], components);
  expect(loaded.errors.map(formatConfigError)).toEqual([]);
  const service = new Service(loaded.config!, { logger: silentLogger(), registry: components });
  await service.start();
  return service;
}
