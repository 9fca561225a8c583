/**
 * A queue of items numbered by consecutive offsets, dropping from the front in amortised O(1):
 * the backing array is compacted only once the dropped prefix outweighs what is left.
 */
export class OffsetWindow<T> {
  #items: (T | undefined)[] = [];
  #head = 0;
  /** Offset of the first item held. */
  start: number;

  constructor(start: number) {
    this.start = start;
  }

  /** How many items are held. */
  get length(): number {
    return this.#items.length - this.#head;
  }

  /** Offset the next pushed item gets. */
  get end(): number {
    return this.start + this.length;
  }

  /** The item at `offset`, or undefined when it is outside the window. */
  get(offset: number): T | undefined {
    const index = offset - this.start;
    if (index < 0 || index >= this.length) return undefined;
    return this.#items[this.#head + index];
  }

  /** The first item, if any. */
  first(): T | undefined {
    return this.length > 0 ? this.#items[this.#head] : undefined;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  /** Drops the first item and returns it. */
  shift(): T | undefined {
    if (this.length === 0) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head++;
    this.start++;
    if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  /** Calls `fn` on every item held, front to back. */
  forEach(fn: (item: T) => void): void {
    for (let i = this.#head; i < this.#items.length; i++) fn(this.#items[i] as T);
  }

  /** Empties the window and restarts it at `start`. */
  reset(start: number): void {
    this.#items = [];
    this.#head = 0;
    this.start = start;
  }
}
