/**
 * Where a delivery queue keeps what it has not delivered yet: on disk (DiskQueue: fsync'd, survives a
 * crash) or in memory (MemoryQueue: lost with the process). The DeliveryQueue works the same over both;
 * `sending_queue.storage` picks one. (Collector: exporterhelper's persistent and memory queues behind one
 * interface.)
 */
import { DiskQueue, type QueueEntry } from './disk-queue.ts';

/** The store of one delivery queue; see {@link DiskQueue} for the on-disk contract. */
export interface QueueStore<T> {
  /** Live entries, oldest first. */
  values(): IterableIterator<QueueEntry<T>>;
  /** Live entries. */
  readonly size: number;
  /** Bytes of the live entries: their on-disk record size (DiskQueue.recordSizeOf), in memory too, so bounds mean the same. */
  readonly bytes: number;
  has(id: number): boolean;
  /** Appends items; resolves once they are stored (on disk: written and fsync'd), with their entries in order. */
  append(items: readonly { item: T; severity: number; json?: string }[], now?: number): Promise<QueueEntry<T>[]>;
  /** Marks an entry done (delivered, dead-lettered or dropped). */
  remove(id: number): void;
  /** Flushes and closes; an on-disk store stays for the next open, a memory store's entries are gone. */
  close(): Promise<void>;
}


/** A queue store in memory: `sending_queue.storage: memory`. Nothing survives a restart. */
export class MemoryQueue<T> implements QueueStore<T> {
  private readonly entries = new Map<number, QueueEntry<T>>();
  private nextId = 1;
  private liveBytes = 0;
  private closed = false;

  values(): IterableIterator<QueueEntry<T>> {
    return this.entries.values();
  }

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.liveBytes;
  }

  has(id: number): boolean {
    return this.entries.has(id);
  }

  append(items: readonly { item: T; severity: number; json?: string }[], now = Date.now()): Promise<QueueEntry<T>[]> {
    if (this.closed) return Promise.reject(new Error('queue is closed'));
    const out: QueueEntry<T>[] = [];
    for (const { item, severity, json } of items) {
      const e: QueueEntry<T> = { id: this.nextId++, item, bytes: DiskQueue.recordSizeOf(json ?? JSON.stringify(item)), severity, enqueuedAt: now };
      this.entries.set(e.id, e);
      this.liveBytes += e.bytes;
      out.push(e);
    }
    return Promise.resolve(out);
  }

  remove(id: number): void {
    const e = this.entries.get(id);
    if (!e) return;
    this.entries.delete(id);
    this.liveBytes -= e.bytes;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
