/**
 * Durable small-file writes for component state (alert state, silences, budgets, the alertmanager
 * exporter's firing set): temp file, write every byte, fsync, rename over the target, fsync the directory.
 * A crash leaves either the old file or the new one, never a torn one (and perhaps a temp file, which the
 * component's next start removes: {@link removeStaleTemps}); a failed write (ENOSPC, EDQUOT,
 * EIO, a short write that cannot be completed) throws a {@link StateWriteError} saying what, where and
 * how much, leaves the target as it was and removes the temp file.
 *
 * `appendWholeSync` is the same promise for an append-only file of lines (the dead-letter file): the
 * whole text or nothing; a failed append is cut back off.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ErrorCodes, VigilError } from './errors.ts';

let counter = 0;

/** A state file could not be written; the previous version of the file is intact. */
export class StateWriteError extends VigilError {
  /** errno code of the failure (`ENOSPC`...). */
  readonly errno: string;
  constructor(
    readonly file: string,
    readonly bytes: number,
    cause: NodeJS.ErrnoException,
  ) {
    const code = cause.code ?? 'EIO';
    const what = code === 'ENOSPC' ? 'no space left on device' : code === 'EDQUOT' ? 'disk quota exceeded' : cause.message;
    const free = freeBytesSync(path.dirname(file));
    super(
      ErrorCodes.STATE_WRITE,
      `cannot write ${file}: ${what} (${code}) writing ${bytes} bytes` +
        (free !== undefined ? `, ${free} bytes free on its filesystem` : '') +
        '; the previous version is kept',
      cause,
    );
    this.name = 'StateWriteError';
    this.errno = code;
  }
}

/** Bytes free for an unprivileged user on the filesystem of `dir` (undefined when unknown). */
export function freeBytesSync(dir: string): number | undefined {
  try {
    const st = fs.statfsSync(dir);
    return Number(st.bavail) * Number(st.bsize);
  } catch {
    return undefined;
  }
}

/** Writes all of `buf` at the file's position, or throws (a 0-byte write that cannot progress is EIO). */
function writeFullySync(fd: number, buf: Buffer): void {
  let off = 0;
  while (off < buf.length) {
    const n = fs.writeSync(fd, buf, off, buf.length - off);
    if (n <= 0) throw Object.assign(new Error('short write: the file system took no more bytes'), { code: 'EIO' });
    off += n;
  }
}

/**
 * Writes `data` (UTF-8) to `file` durably and atomically, blocking (see this file's comment): temp file mode
 * 0600 beside it, fsync, rename over `file`, fsync of the directory (created when missing).
 * Throws a {@link StateWriteError} when the write fails; the previous file is then intact.
 */
export function writeFileAtomicSync(file: string, data: string): void {
  const dir = path.dirname(file);
  const buf = Buffer.from(data);
  const tmp = `${file}.${process.pid}.${++counter}.tmp`;
  try {
    fs.mkdirSync(dir, { recursive: true });
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      writeFullySync(fd, buf);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new StateWriteError(file, buf.length, e as NodeJS.ErrnoException);
  }
  fsyncDirSync(dir);
}

/** The same, without blocking the event loop (for writes on a timer, such as budget spend). */
export async function writeFileAtomic(file: string, data: string): Promise<void> {
  const dir = path.dirname(file);
  const buf = Buffer.from(data);
  const tmp = `${file}.${process.pid}.${++counter}.tmp`;
  try {
    await fs.promises.mkdir(dir, { recursive: true });
    const fh = await fs.promises.open(tmp, 'w', 0o600);
    try {
      let off = 0;
      while (off < buf.length) {
        const { bytesWritten } = await fh.write(buf, off, buf.length - off);
        if (bytesWritten <= 0) throw Object.assign(new Error('short write: the file system took no more bytes'), { code: 'EIO' });
        off += bytesWritten;
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.promises.rename(tmp, file);
  } catch (e) {
    await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
    throw new StateWriteError(file, buf.length, e as NodeJS.ErrnoException);
  }
  let dh: fs.promises.FileHandle | undefined;
  try {
    dh = await fs.promises.open(dir, 'r');
    await dh.sync();
  } catch {
    // some filesystems refuse fsync on a directory; the rename is still atomic
  } finally {
    await dh?.close();
  }
}

function fsyncDirSync(dir: string): void {
  try {
    const dfd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(dfd);
    } finally {
      fs.closeSync(dfd);
    }
  } catch {
    // some filesystems refuse fsync on a directory; the rename is still atomic
  }
}

/**
 * Appends `data` to `file` (created with its folder if missing) whole or not at all: on a failed or short
 * write the file is truncated back to its size before the call, and a {@link StateWriteError} is thrown.
 */
export function appendWholeSync(file: string, data: string): void {
  const buf = Buffer.from(data);
  let fd: number | undefined;
  let before = -1;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT, 0o644);
    before = fs.fstatSync(fd).size;
    writeFullySync(fd, buf);
  } catch (e) {
    if (fd !== undefined && before >= 0) {
      try {
        fs.ftruncateSync(fd, before);
      } catch {
        // nothing more can be done; a reader skips a torn last line
      }
    }
    throw new StateWriteError(file, buf.length, e as NodeJS.ErrnoException);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * Moves a state file that cannot be read back aside as `<file>.corrupt`, so that it is kept for a look rather
 * than overwritten unseen. False when it could not be moved: it is then overwritten at the next save.
 */
export function setAsideCorrupt(file: string): boolean {
  try {
    fs.renameSync(file, `${file}.corrupt`);
    return true;
  } catch {
    return false;
  }
}

/**
 * A JSON state file read back at start: `value` is its parsed content (undefined when there is no file);
 * `problem` says why there is none when the file is there but cannot be used: unreadable (EACCES, EIO: left
 * where it is), not JSON, or of a shape `shape` refuses (its reason). Such a file is moved aside as
 * `<file>.corrupt` ({@link setAsideCorrupt}), so that the next save does not overwrite it unseen, and `problem`
 * says so.
 */
export function readStateFile(file: string, shape: (v: unknown) => string | undefined = () => undefined): { value?: unknown; problem?: string } {
  let value: unknown;
  try {
    value = readJsonSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code) return { problem: `${file}: ${(e as Error).message}` };
    return { problem: corruptProblem(file, (e as Error).message) };
  }
  if (value === undefined) return {};
  const wrong = shape(value);
  return wrong === undefined ? { value } : { problem: corruptProblem(file, wrong) };
}

function corruptProblem(file: string, why: string): string {
  return `${file}: ${why}${setAsideCorrupt(file) ? ` (kept as ${path.basename(file)}.corrupt)` : ''}`;
}

/** The parsed JSON of a file, undefined when it does not exist; throws when it is not valid JSON. */
export function readJsonSync(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  return JSON.parse(text) as unknown;
}

/**
 * A label or annotation set read back from a state file: a copy of `x` when it is a plain object whose values
 * are all text, undefined otherwise (null, an array, a number where text belongs). Loaders of saved alerts skip
 * an entry with such a set rather than serve or send it.
 */
export function savedStringMap(x: unknown): Record<string, string> | undefined {
  if (!x || typeof x !== 'object' || Array.isArray(x)) return undefined;
  for (const v of Object.values(x)) if (typeof v !== 'string') return undefined;
  return { ...(x as Record<string, string>) };
}

/** State files whose stale temp files this process has removed already (see {@link removeStaleTemps}). */
const swept = new Set<string>();

/**
 * Removes `<file>.<pid>.<n>.tmp` files a crashed earlier run (kill -9 in the middle of a save) left beside
 * `file`, which would otherwise hold disk space for ever (returns how many). Called by each loader of a state
 * file before its first read; it does its work once per file in a process (0 after that), before this process
 * writes the file, so it never removes the temp file of a save in flight (a reload's two instances of a
 * component may share a file; under Docker the pid of every run is the same).
 */
export function removeStaleTemps(file: string): number {
  const key = path.resolve(file);
  if (swept.has(key)) return 0;
  swept.add(key);
  const dir = path.dirname(file);
  const base = path.basename(file);
  let n = 0;
  try {
    for (const name of fs.readdirSync(dir)) {
      if (name.startsWith(`${base}.`) && name.endsWith('.tmp') && /^\.\d+\.\d+\.tmp$/.test(name.slice(base.length))) {
        fs.rmSync(path.join(dir, name), { force: true });
        n++;
      }
    }
  } catch {
    // no folder yet
  }
  return n;
}

/**
 * Makes the service's `state_dir` when missing and checks that a file can be created and removed in it;
 * throws a VigilError (START_FAILED) naming the folder and why when it cannot (a read-only filesystem, no
 * permission, a file in the way), so that vigil does not start, or reload, into a state it could never save.
 * A full disk (ENOSPC, EDQUOT) does not fail the check: that is a state every component reports and leaves.
 */
export function checkStateDirSync(dir: string): void {
  const probe = path.join(dir, `.vigil-write-check.${process.pid}.tmp`);
  try {
    fs.mkdirSync(dir, { recursive: true });
    // creating the file is the test (EROFS, EACCES at open); no fsync: it would cost a journal commit at every start
    fs.closeSync(fs.openSync(probe, 'w', 0o600));
    fs.rmSync(probe, { force: true });
  } catch (e) {
    let err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOSPC' || err.code === 'EDQUOT') return;
    // mkdir -p on a read-only filesystem answers ENOENT: ask the nearest folder that exists why
    if (err.code === 'ENOENT') {
      let anc = path.resolve(dir);
      while (!fs.existsSync(anc) && path.dirname(anc) !== anc) anc = path.dirname(anc);
      try {
        fs.accessSync(anc, fs.constants.W_OK);
      } catch (why) {
        err = why as NodeJS.ErrnoException;
      }
    }
    const code = err.code ?? 'EIO';
    const what =
      code === 'EROFS' ? 'read-only file system' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'ENOTDIR' || code === 'EEXIST' ? 'a file is in the way of the folder' : err.message;
    throw new VigilError(
      ErrorCodes.START_FAILED,
      `service.state_dir ${dir} cannot be written: ${what} (${code}); vigil keeps its alert state, budgets, silences and delivery queues there`,
      err,
    );
  }
}
