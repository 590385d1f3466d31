/**
 * Keeps reads from seeing a transaction half applied. dynalite has no transactions: the gateway applies
 * one item at a time, so a plain read between two of those writes would see the lock without its
 * session, or an item a failed transaction is about to roll back. In DynamoDB a GetItem is serializable
 * with transactions and every read is read-committed, so reads share this gate and a transaction holds
 * it alone. A transaction waiting for the gate goes before reads that arrive after it (no starvation).
 */
export class CommitGate {
  #readers = 0;
  #readersGone: Array<() => void> = [];
  #transactionsQueued = 0;
  #transactions: Promise<void> = Promise.resolve();

  async read<T>(task: () => Promise<T>): Promise<T> {
    while (this.#transactionsQueued > 0) await this.#transactions;
    this.#readers += 1;
    try {
      return await task();
    } finally {
      this.#readers -= 1;
      if (this.#readers === 0) for (const resume of this.#readersGone.splice(0)) resume();
    }
  }

  transaction<T>(task: () => Promise<T>): Promise<T> {
    this.#transactionsQueued += 1;
    const run = this.#transactions.then(async () => {
      try {
        if (this.#readers > 0) await new Promise<void>((resume) => this.#readersGone.push(resume));
        return await task();
      } finally {
        this.#transactionsQueued -= 1;
      }
    });
    this.#transactions = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }
}
