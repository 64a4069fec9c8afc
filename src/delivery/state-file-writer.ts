/**
 * Group commit for a small state file that is rewritten whole on every change and must be on disk before
 * what depends on it is queued: an on-call exporter's incidents (./incident-state.ts) and the alertmanager
 * exporter's firing set. Both follow notifications in arrival order, and a notification queued for delivery
 * before its state change is saved would be judged against the older state after a crash (a trigger skipped
 * as stale).
 *
 * Written once per notification and blocking (writeFileAtomicSync), an alert storm of 1,000 notifications
 * held the event loop 1.6 s, more as the file grew. Here a change asks for a write with
 * {@link StateFileWriter.save}, which resolves once a write that STARTED AFTER the call has ended: the caller
 * waits for it before queueing. The text is taken (`snapshot`) when a write starts, so every change made while
 * a write is in flight shares the next write: a burst of N changes costs two writes, not N, and none blocks
 * the event loop (src/atomic-file.ts writeFileAtomic: temp file, fsync, rename, directory fsync).
 *
 * The promise never rejects: the outcome of each write goes to `onWritten` (undefined, or the error; the
 * previous file is then intact), where the owner reports it and decides when to try again.
 */
import { writeFileAtomic } from '../atomic-file.ts';

/** Coalesced, non-blocking whole-file saves of one state file (see this file's comment). */
export class StateFileWriter {
  /** The write running now. */
  private running: Promise<void> | undefined;
  /** The write that starts once `running` ends; every save() meanwhile shares it. */
  private next: Promise<void> | undefined;

  /**
   * `file`: the state file; `snapshot`: its whole text, read when a write starts; `onWritten`: called after
   * each write with undefined (written) or the error (a StateWriteError: the previous file is intact).
   */
  constructor(
    readonly file: string,
    private readonly snapshot: () => string,
    private readonly onWritten: (err: Error | undefined) => void,
  ) {}

  /** Asks for the current state on disk; resolves (never rejects) once a write started after this call has ended. */
  save(): Promise<void> {
    if (this.next) return this.next;
    const next = (this.running ?? Promise.resolve()).then(() => {
      this.next = undefined;
      const run = this.write().finally(() => {
        if (this.running === run) this.running = undefined;
      });
      this.running = run;
      return run;
    });
    this.next = next;
    return next;
  }

  /** Whether a write is running or waiting to run. */
  get busy(): boolean {
    return this.running !== undefined || this.next !== undefined;
  }

  /** Resolves once no write is running or waiting (before a final save at shutdown). */
  async idle(): Promise<void> {
    while (this.next ?? this.running) await (this.next ?? this.running);
  }

  private async write(): Promise<void> {
    let error: Error | undefined;
    try {
      await writeFileAtomic(this.file, this.snapshot());
    } catch (err) {
      error = err as Error;
    }
    try {
      this.onWritten(error);
    } catch {
      // the owner's reporting must not turn a save into a rejection
    }
  }
}
