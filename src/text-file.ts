/**
 * Reading the text files a user writes (config files, `vigil test` files, price tables, token files) strictly:
 * a file that is missing says so by name, and one that is not valid UTF-8 is refused with the place of its
 * first bad byte, instead of being read with U+FFFD in place of it (what `readFile(f, 'utf8')` does silently).
 */
import fs from 'node:fs';
import { isUtf8 } from 'node:buffer';

/** Where a text file's first invalid UTF-8 byte is: its byte offset, and its 1-based line and column (in characters). */
export interface Utf8Problem {
  offset: number;
  line: number;
  col: number;
  /** e.g. `invalid UTF-8 (byte 0xff at byte offset 42)`. */
  message: string;
}

/** A text file read: its text, or why it could not be (`position` set when the bytes are not UTF-8). */
export type TextFile = { ok: true; text: string } | { ok: false; message: string; position?: Utf8Problem };

/**
 * Why reading a file failed, in words: `does not exist`, `permission denied`, `is a directory, not a file`, or
 * the system's message for anything else.
 */
export function describeReadError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e.code) {
    case 'ENOENT':
      return 'does not exist';
    case 'ENOTDIR':
      return 'does not exist (a part of its path is not a directory)';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory, not a file';
    default:
      return e.message ?? String(err);
  }
}

/** The first invalid UTF-8 sequence of `bytes`, or undefined when they are all valid UTF-8. */
export function findInvalidUtf8(bytes: Uint8Array): Utf8Problem | undefined {
  if (isUtf8(bytes)) return undefined;
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Everything before the first bad byte decodes as written, so walking the decoded text while counting the
  // bytes each character took finds it: the first U+FFFD that the file does not spell as EF BF BD.
  let offset = 0;
  let line = 1;
  let col = 1;
  for (const ch of buf.toString('utf8')) {
    if (ch === '\uFFFD' && !(buf[offset] === 0xef && buf[offset + 1] === 0xbf && buf[offset + 2] === 0xbd)) break;
    offset += Buffer.byteLength(ch);
    if (ch === '\n') {
      line++;
      col = 1;
    } else col++;
  }
  const hex = buf[offset]!.toString(16).padStart(2, '0');
  return { offset, line, col, message: `invalid UTF-8 (byte 0x${hex} at byte offset ${offset}): save the file as UTF-8` };
}

/** Reads a file as UTF-8 text, refusing one that is missing, unreadable or not valid UTF-8 (see {@link TextFile}). */
export function readTextFileSync(file: string): TextFile {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    return { ok: false, message: describeReadError(err) };
  }
  return decode(bytes);
}

/**
 * {@link readTextFileSync}, reading asynchronously. With `maxBytes`, a file (or a device such as /dev/zero)
 * that holds more is refused after reading `maxBytes + 1` bytes, naming the bound, instead of being read whole.
 */
export async function readTextFile(file: string, maxBytes?: number): Promise<TextFile> {
  let bytes: Buffer;
  try {
    if (maxBytes === undefined) bytes = await fs.promises.readFile(file);
    else {
      const read = await readAtMost(file, maxBytes);
      if (read === undefined) return { ok: false, message: `is larger than ${describeBytes(maxBytes)}` };
      bytes = read;
    }
  } catch (err) {
    return { ok: false, message: describeReadError(err) };
  }
  return decode(bytes);
}

/** The bytes of `file`, or undefined when it holds more than `maxBytes`. */
async function readAtMost(file: string, maxBytes: number): Promise<Buffer | undefined> {
  const fh = await fs.promises.open(file, 'r');
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.min(64 * 1024, maxBytes + 1 - total));
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) return Buffer.concat(chunks, total);
      chunks.push(buf.subarray(0, bytesRead));
      total += bytesRead;
      if (total > maxBytes) return undefined;
    }
  } finally {
    await fh.close();
  }
}

function describeBytes(n: number): string {
  return n % (1024 * 1024) === 0 ? `${n / (1024 * 1024)} MiB` : `${n} bytes`;
}

function decode(bytes: Buffer): TextFile {
  const bad = findInvalidUtf8(bytes);
  if (bad) return { ok: false, message: bad.message, position: bad };
  return { ok: true, text: bytes.toString('utf8') };
}
