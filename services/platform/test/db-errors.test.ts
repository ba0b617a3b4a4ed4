// The database error table, with errors produced by a real PostgreSQL (and
// a real refused connection and a real pool timeout), through a kit server:
// outages are UNAVAILABLE / DEPENDENCY_UNAVAILABLE, data exceptions
// INVALID_ARGUMENT, anything else still INTERNAL.
import { createServer, type AddressInfo } from "node:net";
import { create } from "@bufbuild/protobuf";
import { status as GrpcStatus } from "@grpc/grpc-js";
import anyTest, { type TestFn } from "ava";
import knexFactory, { type Knex } from "knex";
import { pino } from "pino";
import { FleetService, GetVehicleResponseSchema } from "../../../gen/fleetmesh/fleet/v1/fleet_service_pb.js";
import { BadRequestSchema, ErrorInfoSchema } from "../../../gen/google/rpc/error_details_pb.js";
import { classifyDatabaseError, DATABASE_ERROR_TABLE, databaseErrorInterceptor } from "../src/db-errors.js";
import { DomainError } from "../src/errors.js";
import { createServiceClient, GrpcCallError } from "../src/grpc/client.js";
import { bindService, createGrpcServer, type GrpcServer, type ServiceHandlers } from "../src/grpc/server.js";
import { findDetail } from "../src/grpc/status.js";
import { createMetrics } from "../src/metrics.js";
import { superuser } from "../src/testing/harness.js";

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface Ctx {
  server: GrpcServer;
  address: string;
  knexes: Knex[];
  attempts: Map<string, number>;
  /** How often the interceptor told readiness to re-check (an object: test contexts are copies). */
  unavailableSignals: { count: number };
}
const test = anyTest as TestFn<Ctx>;

test.before(async (t) => {
  const knexes: Knex[] = [];
  const connect = (overrides: Partial<typeof superuser> = {}, pool = { min: 0, max: 2 }, acquireConnectionTimeout = 5_000) => {
    const k = knexFactory({ client: "pg", connection: { ...superuser, ...overrides }, pool, acquireConnectionTimeout });
    knexes.push(k);
    return k;
  };
  const db = connect();
  const terminated = connect();
  const refused = connect({ port: await closedPort() });
  const tiny = connect({}, { min: 0, max: 1 }, 300);
  const attempts = new Map<string, number>();
  const scenarios: Record<string, () => Promise<unknown>> = {
    "nul-in-text": () => db.raw("SELECT ?::text AS v", ["a\u0000b"]),
    "bad-integer": () => db.raw("SELECT 'abc'::int"),
    "numeric-overflow": () => db.raw("SELECT 40000::smallint"),
    "statement-timeout": () => db.transaction(async (trx) => {
      await trx.raw("SET LOCAL statement_timeout = 50");
      await trx.raw("SELECT pg_sleep(2)");
    }),
    // A pool of its own: the terminated connection must not be anyone else's.
    "admin-shutdown": () => terminated.raw("SELECT pg_terminate_backend(pg_backend_pid())"),
    "connection-refused": () => refused.raw("SELECT 1"),
    "pool-timeout": () => tiny.transaction(async () => {
      await tiny.raw("SELECT 1"); // a second connection from a pool of one
    }),
    "unique-violation": () => db.transaction(async (trx) => {
      await trx.raw("CREATE TEMP TABLE unique_probe (x int PRIMARY KEY) ON COMMIT DROP");
      await trx.raw("INSERT INTO unique_probe VALUES (1), (1)");
    }),
    bug: () => Promise.reject(new TypeError("cannot read properties of undefined")),
  };
  const notUsed = () => Promise.reject(new DomainError("internal", "INTERNAL", "not used"));
  const handlers = {
    getVehicle: async ({ vehicleId }: { vehicleId: string }) => {
      attempts.set(vehicleId, (attempts.get(vehicleId) ?? 0) + 1);
      await scenarios[vehicleId]!();
      return create(GetVehicleResponseSchema, {});
    },
    registerVehicle: notUsed,
    updateVehicle: notUsed,
    listVehicles: notUsed,
    changeVehicleStatus: notUsed,
    decommissionVehicle: notUsed,
    recordOdometerReading: notUsed,
    listOdometerReadings: notUsed,
  } as unknown as ServiceHandlers<typeof FleetService>;
  const ctx = { unavailableSignals: { count: 0 } } as Ctx;
  const server = createGrpcServer({
    bindings: [bindService(FleetService, handlers)],
    log: pino({ level: "silent" }),
    metrics: createMetrics("test", { runtime: false }),
    verifier: undefined,
    interceptors: [databaseErrorInterceptor(() => ctx.unavailableSignals.count++)],
  });
  const port = await server.listen("127.0.0.1", 0);
  server.setServing("SERVING");
  Object.assign(ctx, { server, address: `127.0.0.1:${port}`, knexes, attempts });
  t.context = ctx;
});

test.after.always(async (t) => {
  await t.context.server.shutdown(500);
  await Promise.all(t.context.knexes.map((k) => k.destroy()));
});

async function failure(t: { context: Ctx }, scenario: string) {
  // A channel per scenario: retry throttling is per channel, and the failures
  // of the other scenarios must not use up this one's retry budget.
  const client = createServiceClient(FleetService, { address: t.context.address, deadlineMs: 10_000 });
  try {
    await client.getVehicle({ vehicleId: scenario });
  } catch (err) {
    if (!(err instanceof GrpcCallError)) throw err;
    return {
      code: GrpcStatus[err.code],
      reason: findDetail(err.status, ErrorInfoSchema)?.reason,
      dependency: findDetail(err.status, ErrorInfoSchema)?.metadata["dependency"],
      fields: (findDetail(err.status, BadRequestSchema)?.fieldViolations ?? []).map((v) => `${v.field}:${v.reason}`),
      message: err.message,
    };
  } finally {
    client.close();
  }
  throw new Error(`${scenario} did not fail`);
}

for (const scenario of ["nul-in-text", "bad-integer", "numeric-overflow"]) {
  test(`a data exception (${scenario}) is INVALID_ARGUMENT, never INTERNAL`, async (t) => {
    const f = await failure(t, scenario);
    t.like(f, { code: "INVALID_ARGUMENT", reason: "INVALID_ARGUMENT" });
    t.deepEqual(f.fields, ["(message):UNSTORABLE_VALUE"]);
  });
}

for (const scenario of ["statement-timeout", "admin-shutdown", "connection-refused", "pool-timeout"]) {
  test(`${scenario} is UNAVAILABLE, DEPENDENCY_UNAVAILABLE, retried by the kit's client, without internals in the message`, async (t) => {
    const f = await failure(t, scenario);
    t.like(f, { code: "UNAVAILABLE", reason: "DEPENDENCY_UNAVAILABLE", dependency: "postgres" });
    t.notRegex(f.message, /127\.0\.0\.1|ECONN|SELECT|terminat/i);
    // GetVehicle is read-only: the kit's retry policy sent it again.
    t.true((t.context.attempts.get(scenario) ?? 0) > 1, `attempts ${t.context.attempts.get(scenario)}`);
    t.true(t.context.unavailableSignals.count > 0);
  });
}

for (const scenario of ["unique-violation", "bug"]) {
  test(`an error outside the table (${scenario}) stays INTERNAL`, async (t) => {
    t.like(await failure(t, scenario), { code: "INTERNAL", reason: "INTERNAL", message: "internal error" });
  });
}

test("the table: every outage condition of the issue, class 22, serialization conflicts, and nothing else", (t) => {
  for (const code of ["57P01", "57P02", "57P03", "53300", "57014", "08000", "08003", "08006", "08001", "08004", "08P01"]) {
    t.is(classifyDatabaseError({ code }), "unavailable", code);
  }
  for (const code of ["22021", "22P05", "22001", "22003", "22P02", "22007", "22008"]) t.is(classifyDatabaseError({ code }), "unstorable", code);
  // Serialization failures and deadlocks are ABORTED since transactions retry them (transactions.ts).
  for (const code of ["40001", "40P01"]) t.is(classifyDatabaseError({ code }), "conflict", code);
  for (const code of ["23505", "23P01", "23514", "42P01", "XX000", "P0001", "53100"]) {
    t.is(classifyDatabaseError({ code }), undefined, code);
  }
  for (const code of ["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "ENOTFOUND"]) t.is(classifyDatabaseError({ code }), "unavailable", code);
  t.is(classifyDatabaseError(new Error("Connection terminated unexpectedly")), "unavailable");
  t.is(classifyDatabaseError(Object.assign(new Error("Knex: Timeout acquiring a connection."), { name: "KnexTimeoutError" })), "unavailable");
  t.is(classifyDatabaseError(new AggregateError([Object.assign(new Error("x"), { code: "ECONNREFUSED" })])), "unavailable");
  t.is(classifyDatabaseError(new Error("wrapped", { cause: { code: "57P01" } })), "unavailable");
  t.is(classifyDatabaseError(new Error("a bug")), undefined);
  t.is(classifyDatabaseError(new DOMException("signal timed out", "TimeoutError")), undefined);
  t.true(DATABASE_ERROR_TABLE.every((r) => /^[0-9A-Z]{2,5}$/.test(r.sqlstate)));
});
