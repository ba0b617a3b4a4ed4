import type { Caller } from "../auth.js";
// Tests only: in-memory stand-ins for the ports every service's use cases
// have (a unit of work, an outbox), so use cases get fast unit tests beside
// the ones against PostgreSQL. A fake store joins the unit of work by being
// able to snapshot itself: a failed unit restores every store it touched.

/** State a fake unit of work can roll back. */
export interface Transactional {
  /** Captures the current state; calling the result restores it. */
  snapshot(): () => void;
}

export interface InMemoryUnitOfWork {
  run<T>(work: () => Promise<T>): Promise<T>;
  /** How many units committed and rolled back (outermost only). */
  readonly stats: { committed: number; rolledBack: number };
}

/**
 * Runs work "in a transaction" over the given stores: all their changes stay
 * if it returns, none if it throws. Nested runs join the outer one, as the
 * kit's database transactions do. Not isolated: fakes serve single-flow tests.
 */
export function createInMemoryUnitOfWork(stores: readonly Transactional[]): InMemoryUnitOfWork {
  let depth = 0;
  const stats = { committed: 0, rolledBack: 0 };
  return {
    stats,
    async run(work) {
      if (depth > 0) return work();
      const restores = stores.map((s) => s.snapshot());
      depth += 1;
      try {
        const result = await work();
        stats.committed += 1;
        return result;
      } catch (err) {
        for (const restore of restores) restore();
        stats.rolledBack += 1;
        throw err;
      } finally {
        depth -= 1;
      }
    },
  };
}

/** A keyed table of records, copied on snapshot. */
export class InMemoryTable<K, V> implements Transactional {
  readonly rows = new Map<K, V>();
  snapshot(): () => void {
    const copy = new Map(this.rows);
    return () => {
      this.rows.clear();
      for (const [k, v] of copy) this.rows.set(k, v);
    };
  }
}

/** An outbox that keeps what was appended; rolled back with the unit of work. */
export class RecordingOutbox<E> implements Transactional {
  readonly events: E[] = [];
  append(event: E): Promise<void> {
    this.events.push(event);
    return Promise.resolve();
  }
  snapshot(): () => void {
    const length = this.events.length;
    return () => {
      this.events.length = length;
    };
  }
}

/** A verified caller as the auth layer would produce it, for unit tests of rules that take one. */
export const testCaller = (subject: string, permissions: readonly string[] = [], extra: Partial<Caller> = {}): Caller => ({
  subject,
  roles: [],
  permissions: new Set(permissions),
  anonymous: false,
  ...extra,
});
