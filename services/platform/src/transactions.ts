import { isStalePreparedStatement, type Database, type Knex } from "./db.js";
import { DomainError } from "./errors.js";

export type IsolationLevel = "read committed" | "repeatable read" | "serializable";

/** SQLSTATEs after which the whole transaction is void and running it again may succeed. */
export const RETRYABLE_SQLSTATES = new Set(["40001" /* serialization_failure */, "40P01" /* deadlock_detected */]);

/**
 * Integrity violations a service expects and what each means to its callers:
 * constraint name → domain error. The one place a service maps them, so a
 * repository never inspects SQLSTATEs itself. A violation of a constraint not
 * listed stays what it is (a bug: INTERNAL).
 */
export type ConstraintErrors = Readonly<Record<string, (violation: ConstraintViolation) => DomainError>>;

export interface ConstraintViolation {
  readonly kind: "unique" | "exclusion" | "foreign_key" | "check" | "not_null";
  readonly constraint: string;
  readonly table: string | undefined;
  /** PostgreSQL's detail, e.g. "Key (plate_number)=(B-1) already exists." Log it; never show it. */
  readonly detail: string | undefined;
}

const VIOLATION_KINDS: Readonly<Record<string, ConstraintViolation["kind"]>> = {
  "23505": "unique",
  "23P01": "exclusion",
  "23503": "foreign_key",
  "23514": "check",
  "23502": "not_null",
};

/** The violation a PostgreSQL error reports, if it is one. */
export function constraintViolationOf(err: unknown): ConstraintViolation | undefined {
  const e = err as { code?: unknown; constraint?: unknown; table?: unknown; detail?: unknown } | null;
  if (e === null || typeof e !== "object" || typeof e.code !== "string") return undefined;
  const kind = VIOLATION_KINDS[e.code];
  if (!kind) return undefined;
  return {
    kind,
    constraint: typeof e.constraint === "string" ? e.constraint : "",
    table: typeof e.table === "string" ? e.table : undefined,
    detail: typeof e.detail === "string" ? e.detail : undefined,
  };
}

/** The domain error `constraints` names for `err`, or `err` itself. */
export function mapConstraintViolation(err: unknown, constraints: ConstraintErrors): unknown {
  const violation = constraintViolationOf(err);
  const toDomain = violation && Object.hasOwn(constraints, violation.constraint) ? constraints[violation.constraint] : undefined;
  return toDomain ? toDomain(violation!) : err;
}

export interface UnitOfWorkOptions {
  readonly isolation?: IsolationLevel;
  readonly readOnly?: boolean;
  /** Attempts in all, the first included (default 5). */
  readonly maxAttempts?: number;
  /** Backoff before attempt n: a random delay up to min(maxDelayMs, baseDelayMs * 2^(n-2)) ("full jitter"). */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly constraints?: ConstraintErrors;
  /** Told before each retry (metrics, logs). */
  readonly onRetry?: (attempt: number, sqlstate: string) => void;
  /** Injected in tests. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

const sqlstateOf = (err: unknown): string | undefined => {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
};

/** ABORTED, reason TRANSACTION_CONFLICT: the caller may retry the whole request. */
export const transactionConflict = (sqlstate: string, attempts: number, cause: unknown): DomainError =>
  new DomainError("aborted", "TRANSACTION_CONFLICT", "the request conflicted with concurrent ones; retry it", {
    metadata: { sqlstate, attempts: String(attempts) },
    cause,
  });

/**
 * Runs `work` in one transaction at the chosen isolation level. A
 * serialization failure or deadlock (40001, 40P01) voids the whole
 * transaction, so it is run again from the start after a jittered backoff, a
 * bounded number of times, then reported as ABORTED TRANSACTION_CONFLICT.
 * `work` must therefore only touch the database (it may run more than once).
 *
 * Inside an outer transaction (the idempotency layer's, another unit of work)
 * it joins it and does not retry: only the outermost transaction can be run
 * again, and the error reaches whoever opened it. It joins without a
 * savepoint: a failure here fails the outer transaction anyway (every caller
 * lets it propagate), and the SAVEPOINT / RELEASE pair would cost two round
 * trips on every keyed call.
 */
export async function runInTransaction<T>(db: Database, work: (trx: Knex.Transaction) => Promise<T>, options: UnitOfWorkOptions = {}): Promise<T> {
  const constraints = options.constraints ?? {};
  const nested = db.executor() !== db.knex;
  const attempt = async (): Promise<T> =>
    db.transaction(async (trx) => {
      if (!nested && (options.isolation || options.readOnly)) {
        const level = options.isolation ?? "read committed";
        await trx.raw(`SET TRANSACTION ISOLATION LEVEL ${level.toUpperCase()}${options.readOnly ? " READ ONLY" : ""}`);
      }
      return work(trx);
    });
  if (nested) {
    try {
      return await work(db.executor() as Knex.Transaction);
    } catch (err) {
      throw mapConstraintViolation(err, constraints);
    }
  }
  const maxAttempts = Math.max(1, options.maxAttempts ?? 5);
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const random = options.random ?? Math.random;
  for (let n = 1; ; n += 1) {
    try {
      return await attempt();
    } catch (err) {
      const sqlstate = sqlstateOf(err);
      // A prepared statement that outlived a migration: its connection is
      // retired (db.ts), so the next attempt prepares it afresh.
      const retryable = sqlstate !== undefined && (RETRYABLE_SQLSTATES.has(sqlstate) || isStalePreparedStatement(err));
      if (!retryable) throw mapConstraintViolation(err, constraints);
      if (n >= maxAttempts) throw transactionConflict(sqlstate, n, err);
      options.onRetry?.(n + 1, sqlstate);
      const cap = Math.min(options.maxDelayMs ?? 200, (options.baseDelayMs ?? 10) * 2 ** (n - 1));
      await sleep(Math.floor(random() * cap));
    }
  }
}
