import { create } from "@bufbuild/protobuf";
import { credentials, Client, Metadata, status as GrpcStatus } from "@grpc/grpc-js";
import anyTest, { type TestFn } from "ava";
import { pino } from "pino";
import { FleetService, GetVehicleResponseSchema } from "../../../gen/fleetmesh/fleet/v1/fleet_service_pb.js";
import { ErrorInfoSchema } from "../../../gen/google/rpc/error_details_pb.js";
import { ANONYMOUS } from "../src/auth.js";
import type { RequestContext } from "../src/context.js";
import { DomainError } from "../src/errors.js";
import { createServiceClient, GrpcCallError } from "../src/grpc/client.js";
import { bindService, createGrpcServer, type GrpcServer, type ServiceHandlers } from "../src/grpc/server.js";
import { findDetail } from "../src/grpc/status.js";
import { createMetrics } from "../src/metrics.js";

interface Ctx {
  server: GrpcServer;
  address: string;
  attempts: Map<string, number>;
  seenDeadlines: Map<string, number | undefined>;
}
const test = anyTest as TestFn<Ctx>;

const unavailable = () => new DomainError("unavailable", "DEPENDENCY_UNAVAILABLE", "try again");

test.before(async (t) => {
  const attempts = new Map<string, number>();
  const ctx: Partial<Ctx> = { attempts, seenDeadlines: new Map() };
  const count = (key: string): number => {
    const n = (attempts.get(key) ?? 0) + 1;
    attempts.set(key, n);
    return n;
  };
  const notUsed = () => Promise.reject(new DomainError("internal", "INTERNAL", "not used"));
  const handlers = {
    registerVehicle: async (req: { plateNumber: string }) => {
      count(`register:${req.plateNumber}`);
      throw unavailable();
    },
    getVehicle: async (req: { vehicleId: string }, rctx: RequestContext) => {
      ctx.seenDeadlines!.set(req.vehicleId, rctx.deadline);
      if (req.vehicleId === "domain-error") throw new DomainError("not_found", "VEHICLE_NOT_FOUND", "no such vehicle");
      if (count(`get:${req.vehicleId}`) <= (req.vehicleId.startsWith("retry") ? 2 : 0)) throw unavailable();
      return create(GetVehicleResponseSchema, { vehicle: { id: req.vehicleId } });
    },
    updateVehicle: notUsed,
    listVehicles: notUsed,
    changeVehicleStatus: notUsed,
    decommissionVehicle: notUsed,
    recordOdometerReading: notUsed,
    listOdometerReadings: notUsed,
  } as unknown as ServiceHandlers<typeof FleetService>;
  const server = createGrpcServer({
    bindings: [bindService(FleetService, handlers)],
    log: pino({ level: "silent" }),
    metrics: createMetrics("test", { runtime: false }),
    verifier: undefined,
  });
  const port = await server.listen("127.0.0.1", 0);
  server.setServing("SERVING");
  t.context = { ...(ctx as Ctx), server, address: `127.0.0.1:${port}` };
});

test.after.always(async (t) => {
  await t.context.server.shutdown(500);
});

const client = (t: { context: Ctx }) => createServiceClient(FleetService, { address: t.context.address, deadlineMs: 2_000 });

test("read-only RPCs are retried on UNAVAILABLE", async (t) => {
  const c = client(t);
  const res = await c.getVehicle({ vehicleId: "retry-me" });
  t.is(res.vehicle?.id, "retry-me");
  t.is(t.context.attempts.get("get:retry-me"), 3);
  c.close();
});

test("mutating RPCs without an idempotency key are not retried", async (t) => {
  const c = client(t);
  const err = await t.throwsAsync(c.registerVehicle({ plateNumber: "NO-KEY" }), { instanceOf: GrpcCallError });
  t.is(err?.code, GrpcStatus.UNAVAILABLE);
  t.is(t.context.attempts.get("register:NO-KEY"), 1);
  c.close();
});

test("mutating RPCs with an idempotency key are retried", async (t) => {
  const c = client(t);
  await t.throwsAsync(c.registerVehicle({ plateNumber: "WITH-KEY" }, { idempotencyKey: "retry-key-0001" }));
  t.true((t.context.attempts.get("register:WITH-KEY") ?? 0) > 1);
  c.close();
});

test("outbound deadlines never outlive the inbound call's deadline", async (t) => {
  const c = client(t);
  // The peer's default first: it also opens the channel, so that the capped
  // call below measures the deadline, not connection set-up on a busy machine.
  const defaultCall = Date.now();
  await c.getVehicle({ vehicleId: "deadline2" });
  const seenDefault = t.context.seenDeadlines.get("deadline2")!;
  t.true(seenDefault > defaultCall + 1_000 && seenDefault <= defaultCall + 2_100, "peer default deadline applies");
  const inboundDeadline = Date.now() + 800;
  const inbound = {
    requestId: "r-1", deadline: inboundDeadline, metadata: new Metadata(), signal: new AbortController().signal, caller: ANONYMOUS,
  } as unknown as RequestContext;
  await c.getVehicle({ vehicleId: "deadline" }, { ctx: inbound });
  const seen = t.context.seenDeadlines.get("deadline");
  t.truthy(seen);
  // On the wire a deadline travels as a relative grpc-timeout; the server adds
  // it to its own clock on arrival, so transit time shifts it by a few ms.
  // The cap is what matters: 800 ms from the inbound call, not the 2 s default.
  t.true(seen! <= inboundDeadline + 100, `server saw deadline ${seen} vs inbound ${inboundDeadline}`);
  c.close();
});

test("domain errors arrive with their code and google.rpc details", async (t) => {
  const c = client(t);
  const err = await t.throwsAsync(c.getVehicle({ vehicleId: "domain-error" }), { instanceOf: GrpcCallError });
  t.is(err?.code, GrpcStatus.NOT_FOUND);
  t.is(findDetail(err?.status, ErrorInfoSchema)?.reason, "VEHICLE_NOT_FOUND");
  t.is(findDetail(err?.status, ErrorInfoSchema)?.domain, "fleetmesh");
  c.close();
});

test("a malformed protobuf request is INVALID_ARGUMENT, not INTERNAL", async (t) => {
  const raw = new Client(t.context.address, credentials.createInsecure());
  const code = await new Promise<number>((resolve) => {
    raw.makeUnaryRequest(
      "/fleetmesh.fleet.v1.FleetService/GetVehicle",
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.from([0x0a, 0xff, 0xff, 0xff]), // field 1, length-delimited, truncated
      new Metadata(),
      (err) => resolve(err?.code ?? 0),
    );
  });
  t.is(code, GrpcStatus.INVALID_ARGUMENT);
  raw.close();
});
