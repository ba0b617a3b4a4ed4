import { create } from "@bufbuild/protobuf";
import { status as GrpcStatus } from "@grpc/grpc-js";
import anyTest, { type TestFn } from "ava";
import { pino } from "pino";
import { FleetService, RegisterVehicleResponseSchema, type RegisterVehicleRequest } from "../../../gen/fleetmesh/fleet/v1/fleet_service_pb.js";
import { createDatabase, type Database } from "../src/db.js";
import { GrpcCallError, createServiceClient } from "../src/grpc/client.js";
import { bindService, createGrpcServer, remoteFirst, type GrpcServer, type ServiceHandlers } from "../src/grpc/server.js";
import { idempotencyInterceptor } from "../src/idempotency.js";
import { createMetrics } from "../src/metrics.js";
import { createPeerClient } from "../src/peers/peer-client.js";
import { createServiceCredential } from "../src/peers/service-credential.js";
import { createTestDatabase, type TestDatabase } from "../src/testing/harness.js";
import { startStubFleet } from "../src/testing/peer-stub.js";

// No database transaction is open while a service waits on a peer: a
// remoteFirst handler's prepare step runs before the idempotency layer opens
// the call's transaction, and a peer call made inside a transaction is
// refused before it is sent. Asserted on the calling service's pool.

interface Context {
  readonly testDb: TestDatabase;
  readonly db: Database;
  readonly server: GrpcServer;
  readonly address: string;
  readonly peer: Awaited<ReturnType<typeof startStubFleet>>;
  /** Connections the caller had checked out of its pool while the peer was serving each call. */
  readonly busyDuringPeerCall: number[];
}

const test = anyTest as TestFn<Context>;

test.before(async (t) => {
  const testDb = await createTestDatabase("kit", "migrations/fleet");
  await testDb.admin.query(`CREATE TABLE test_effects (id serial PRIMARY KEY, note text NOT NULL);
    GRANT SELECT, INSERT ON test_effects TO ${testDb.config.user}; GRANT USAGE ON SEQUENCE test_effects_id_seq TO ${testDb.config.user}`);
  const db = createDatabase(testDb.config, "kit-test");
  const busyDuringPeerCall: number[] = [];
  const peer = await startStubFleet(200, () => {
    const stats = db.poolStats();
    busyDuringPeerCall.push(stats.total - stats.idle);
  });
  const credential = createServiceCredential(async () => ({ accessToken: "svc", expiresAt: Date.now() + 600_000 }));
  const fleetPeer = createPeerClient("fleet", FleetService, { address: peer.address, deadlineMs: 2_000 }, credential);
  const askPeer = async (): Promise<string> => {
    try {
      await fleetPeer.getVehicle({ vehicleId: "v-1" });
      return "found";
    } catch (err) {
      return (err as { reason?: string }).reason ?? "error";
    }
  };
  const unused = Object.fromEntries(FleetService.methods.map((m) => [m.localName, () => Promise.reject(new Error("not used"))]));
  const handlers = {
    ...unused,
    // Remote work first, then the effect in the call's transaction.
    registerVehicle: remoteFirst(
      async () => askPeer(),
      async (request: RegisterVehicleRequest, _ctx, peerAnswer: string) => {
        await db.executor()("test_effects").insert({ note: `${request.plateNumber}:${peerAnswer}` });
        return create(RegisterVehicleResponseSchema, {});
      },
    ),
    // The mistake the guard catches: a peer call inside the transaction.
    updateVehicle: async () => {
      await db.transaction(async () => {
        await fleetPeer.getVehicle({ vehicleId: "v-1" });
      });
      throw new Error("unreachable");
    },
  } as unknown as ServiceHandlers<typeof FleetService>;
  const server = createGrpcServer({
    bindings: [bindService(FleetService, handlers)],
    log: pino({ level: "silent" }),
    metrics: createMetrics("kit-test"),
    verifier: undefined,
    interceptors: [idempotencyInterceptor(db, 1)],
  });
  const port = await server.listen("127.0.0.1", 0);
  server.setServing("SERVING");
  t.context = { testDb, db, server, address: `127.0.0.1:${port}`, peer, busyDuringPeerCall };
});

test.after.always(async (t) => {
  await t.context.server?.shutdown(500);
  t.context.peer?.stop();
  await t.context.db?.close();
  await t.context.testDb?.drop();
});

test.serial("a keyed call's peer work runs with no connection checked out; effect and key still commit together", async (t) => {
  const client = createServiceClient(FleetService, { address: t.context.address, deadlineMs: 5_000 });
  try {
    await client.registerVehicle({ plateNumber: "K-1" }, { idempotencyKey: "remote-first-key-1" });
    await client.registerVehicle({ plateNumber: "U-1" });
    t.deepEqual(t.context.busyDuringPeerCall, [0, 0], "no pooled connection held while the peer served either call");
    // The replay returns the stored response without a second effect.
    await client.registerVehicle({ plateNumber: "K-1" }, { idempotencyKey: "remote-first-key-1" });
    const rows = await t.context.testDb.admin.query<{ note: string }>("SELECT note FROM test_effects ORDER BY id");
    t.deepEqual(rows.rows.map((r) => r.note), ["K-1:NOT_FOUND", "U-1:NOT_FOUND"]);
    const keys = await t.context.testDb.admin.query("SELECT 1 FROM idempotency_keys WHERE key = 'remote-first-key-1' AND response IS NOT NULL");
    t.is(keys.rowCount, 1);
  } finally {
    client.close();
  }
});

test.serial("a peer call inside an open transaction is refused before it is sent", async (t) => {
  const client = createServiceClient(FleetService, { address: t.context.address, deadlineMs: 5_000 });
  const before = t.context.peer.seen.length;
  try {
    const err = await t.throwsAsync(client.updateVehicle({}, { headers: {}, idempotencyKey: "remote-first-key-2" }), { instanceOf: GrpcCallError });
    t.is(err?.code, GrpcStatus.INTERNAL);
    t.is(t.context.peer.seen.length, before, "the peer was never called");
  } finally {
    client.close();
  }
});

