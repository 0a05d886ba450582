/**
 * Runs async tasks one at a time, in submission order. A DuckDB connection executes one
 * statement at a time and a transaction spans several awaits, so every use of a connection
 * goes through its queue. A failed task does not stop the ones after it.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;

  run<T>(task: () => Promise<T>): Promise<T> {
    this.pending += 1;
    const result = this.tail.then(task, task);
    this.tail = result.then(
      () => this.pending--,
      () => this.pending--,
    );
    return result;
  }

  get size(): number {
    return this.pending;
  }

  /** Resolves when everything submitted so far has finished. */
  drain(): Promise<void> {
    return this.tail.then(() => undefined);
  }
}
