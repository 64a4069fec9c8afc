/** A binary min-heap of items by due time: the entries waiting for their retry. */
export class TimerHeap<T> {
  private readonly items: T[] = [];
  private readonly due: number[] = [];

  get size(): number {
    return this.items.length;
  }

  /** The earliest due time, or Infinity when empty. */
  peekDue(): number {
    return this.due.length ? this.due[0]! : Infinity;
  }

  push(item: T, at: number): void {
    this.items.push(item);
    this.due.push(at);
    let i = this.items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.due[parent]! <= this.due[i]!) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  /** Removes and returns the earliest item. */
  pop(): T | undefined {
    const n = this.items.length;
    if (n === 0) return undefined;
    const top = this.items[0]!;
    this.swap(0, n - 1);
    this.items.pop();
    this.due.pop();
    let i = 0;
    const m = this.items.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let min = i;
      if (l < m && this.due[l]! < this.due[min]!) min = l;
      if (r < m && this.due[r]! < this.due[min]!) min = r;
      if (min === i) break;
      this.swap(i, min);
      i = min;
    }
    return top;
  }

  /** Keeps only the items for which `keep` is true (their due times unchanged); O(n). */
  retain(keep: (item: T) => boolean): void {
    const items = this.items.splice(0);
    const due = this.due.splice(0);
    for (let i = 0; i < items.length; i++) if (keep(items[i]!)) this.push(items[i]!, due[i]!);
  }

  private swap(a: number, b: number): void {
    const t = this.items[a]!;
    this.items[a] = this.items[b]!;
    this.items[b] = t;
    const d = this.due[a]!;
    this.due[a] = this.due[b]!;
    this.due[b] = d;
  }
}
