import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { COALESCE_MS, CoalescingDestination, createLogger } from './logger.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The JSON lines of one write. */
const linesOf = <T>(write: string) => write.trimEnd().split('\n').map((l) => JSON.parse(l) as T);

describe('CoalescingDestination', () => {
  afterEach(() => vi.useRealTimers());

  function setup() {
    vi.useFakeTimers();
    const writes: string[] = [];
    const dest = new CoalescingDestination({ write: (d: string) => writes.push(d) }, () => Date.now());
    const log = createLogger('info', dest);
    return { writes, dest, log };
  }

  it('writes a line after a quiet spell at once, and coalesces the lines that follow within the interval into one write', () => {
    const { writes, dest, log } = setup();
    log.info('ready');
    expect(writes).toHaveLength(1);
    expect(JSON.parse(writes[0]!)).toMatchObject({ level: 'info', message: 'ready' });
    for (let i = 0; i < 100; i++) log.info({ i }, 'batch');
    expect(writes).toHaveLength(1);
    vi.advanceTimersByTime(COALESCE_MS);
    expect(writes).toHaveLength(2);
    const lines = linesOf<{ i: number }>(writes[1]!);
    expect(lines.map((l) => l.i)).toEqual([...Array(100).keys()]);
    vi.advanceTimersByTime(10 * COALESCE_MS);
    log.info('later');
    expect(writes).toHaveLength(3);
    dest.close();
  });

  it('writes warn and error lines at once, after the lines buffered before them', () => {
    const { writes, dest, log } = setup();
    log.info('first');
    log.info('second');
    log.info('third');
    expect(writes).toHaveLength(1);
    log.warn('disk full');
    expect(writes).toHaveLength(2);
    expect(linesOf<{ message: string }>(writes[1]!).map((l) => l.message)).toEqual(['second', 'third', 'disk full']);
    log.error('boom');
    expect(writes).toHaveLength(3);
    dest.close();
  });

  it('writes at once past 64 KiB buffered', () => {
    const { writes, dest, log } = setup();
    log.info('first');
    const big = 'x'.repeat(8 * 1024);
    for (let i = 0; i < 8; i++) log.info({ big }, 'big');
    expect(writes).toHaveLength(2);
    expect(linesOf(writes[1]!)).toHaveLength(8);
    dest.close();
  });

  it('loses nothing when the process exits: 1,000 lines logged in a burst, then process.exit', () => {
    const script = `
      import { createLogger } from ${JSON.stringify(path.join(root, 'src/logger.ts'))};
      const log = createLogger('info');
      for (let i = 0; i < 1000; i++) log.info({ i }, 'batch');
      process.exit(3);`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
    expect(r.status).toBe(3);
    const seen = linesOf<{ i: number }>(r.stdout).map((l) => l.i);
    expect(seen).toEqual([...Array(1000).keys()]);
  });
});
