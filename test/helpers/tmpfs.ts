/**
 * A small tmpfs for disk-full tests (`mount -t tmpfs -o size=...`; CI runs as root). When mounting is not
 * permitted the tests that need it are skipped with a loud message, never passed silently.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Tmpfs {
  dir: string;
  /** Fills the filesystem to the last byte with a filler file; returns the bytes written. */
  fill(): number;
  /** Removes the filler: the space comes back. */
  free(): void;
  unmount(): void;
}

/** Mounts a tmpfs of `bytes` on a fresh folder, or returns the reason it cannot. */
export function mountTmpfs(bytes: number): Tmpfs | string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    return `mount -t tmpfs failed (${String((e as { stderr?: Buffer }).stderr ?? (e as Error).message).trim()})`;
  }
  const fillers: string[] = [];
  return {
    dir,
    fill() {
      const file = path.join(dir, `filler-${fillers.length}`);
      fillers.push(file);
      const fd = fs.openSync(file, 'w');
      let total = 0;
      try {
        // big chunks, then smaller ones, down to one byte: nothing is left
        for (let chunk = 64 * 1024; chunk >= 1; chunk = Math.floor(chunk / 2)) {
          const buf = Buffer.alloc(chunk, 0x66);
          for (;;) {
            try {
              total += fs.writeSync(fd, buf);
            } catch (e) {
              if ((e as NodeJS.ErrnoException).code === 'ENOSPC') break;
              throw e;
            }
          }
        }
      } finally {
        fs.closeSync(fd);
      }
      return total;
    },
    free() {
      for (const f of fillers.splice(0)) fs.rmSync(f, { force: true });
    },
    unmount() {
      try {
        execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
      } catch {
        // already gone
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The loud line printed when disk-full tests cannot run here. */
export function skipBanner(reason: string): void {
  const bar = '!'.repeat(100);
  console.warn(`\n${bar}\n!!! DISK-FULL TESTS SKIPPED: ${reason}\n!!! They need root (CI runs them). Nothing about disk-full behaviour was checked in this run.\n${bar}\n`);
}
