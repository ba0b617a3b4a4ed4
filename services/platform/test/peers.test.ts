import { create, toBinary } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { Metadata, status as GrpcStatus } from "@grpc/grpc-js";
import test from "ava";
import { pino } from "pino";
import { FleetService } from "../../../gen/fleetmesh/fleet/v1/fleet_service_pb.js";
import { BadRequestSchema, ErrorInfoSchema } from "../../../gen/google/rpc/error_details_pb.js";
import { StatusSchema } from "../../../gen/google/rpc/status_pb.js";
import { ANONYMOUS } from "../src/auth.js";
import type { RequestContext } from "../src/context.js";
import { DomainError } from "../src/errors.js";
import { GrpcCallError } from "../src/grpc/client.js";
import { decodeStatusDetails, STATUS_DETAILS_KEY } from "../src/grpc/status.js";
import { createPeerClient } from "../src/peers/peer-client.js";
import { peerErrorToDomain } from "../src/peers/peer-errors.js";
import { createServiceCredential, type ServiceToken } from "../src/peers/service-credential.js";
import { startStubFleet } from "../src/testing/peer-stub.js";

// The kit's peer calls: the service credential's cache, the table from a
// peer's status to this service's domain errors, and whose token and which
// deadline a call carries. Against a real gRPC server on port 0.

const silent = pino({ level: "silent" });

const statusWith = (code: GrpcStatus, message: string, reason: string, fields: Array<{ field: string; description: string }> = []) => {
  const details = [anyPack(ErrorInfoSchema, create(ErrorInfoSchema, { reason, domain: "fleetmesh", metadata: { subject: "v-1" } }))];
  if (fields.length > 0) details.push(anyPack(BadRequestSchema, create(BadRequestSchema, { fieldViolations: fields })));
  const md = new Metadata();
  md.set(STATUS_DETAILS_KEY, Buffer.from(toBinary(StatusSchema, create(StatusSchema, { code, message, details }))));
  return new GrpcCallError(code, message, decodeStatusDetails(md), md);
};

test("peer errors: domain answers keep their kind, reason and details; transport failures become DEPENDENCY_UNAVAILABLE", (t) => {
  const notFound = peerErrorToDomain("fleet", statusWith(GrpcStatus.NOT_FOUND, "vehicle v-1 not found", "VEHICLE_NOT_FOUND"), "caller");
  t.like(notFound, { kind: "not_found", reason: "VEHICLE_NOT_FOUND", message: "vehicle v-1 not found" });
  t.deepEqual(notFound.metadata, { subject: "v-1", dependency: "fleet" });

  const conflict = peerErrorToDomain("rental", statusWith(GrpcStatus.FAILED_PRECONDITION, "taken", "VEHICLE_NOT_AVAILABLE"), "service");
  t.like(conflict, { kind: "failed_precondition", reason: "VEHICLE_NOT_AVAILABLE" });

  const invalid = peerErrorToDomain("fleet", statusWith(GrpcStatus.INVALID_ARGUMENT, "bad", "INVALID_ARGUMENT", [{ field: "plate_number", description: "required" }]), "caller");
  t.like(invalid, { kind: "invalid_argument", reason: "INVALID_ARGUMENT" });
  t.deepEqual(invalid.fieldViolations, [{ field: "plate_number", description: "required" }]);

  for (const code of [GrpcStatus.UNAVAILABLE, GrpcStatus.DEADLINE_EXCEEDED, GrpcStatus.RESOURCE_EXHAUSTED, GrpcStatus.CANCELLED]) {
    const transport = new GrpcCallError(code, "No connection established. Last error: connect ECONNREFUSED 10.0.0.7:50061", undefined, undefined);
    const mapped = peerErrorToDomain("fleet", transport, "caller");
    t.like(mapped, { kind: "unavailable", reason: "DEPENDENCY_UNAVAILABLE", message: "fleet service unavailable" }, GrpcStatus[code]);
    t.notRegex(mapped.message, /\d+\.\d+\.\d+\.\d+|:\d{2,5}/);
  }

  // A refusal of the user's token stands; of the service's own, it is our misconfiguration.
  const denied = statusWith(GrpcStatus.PERMISSION_DENIED, "permission vehicles.read required", "PERMISSION_DENIED");
  t.like(peerErrorToDomain("fleet", denied, "caller"), { kind: "permission_denied", reason: "PERMISSION_DENIED" });
  t.like(peerErrorToDomain("fleet", denied, "service"), { kind: "internal", reason: "INTERNAL", message: "internal error" });
  const unauthenticated = new GrpcCallError(GrpcStatus.UNAUTHENTICATED, "token expired", undefined, undefined);
  t.like(peerErrorToDomain("fleet", unauthenticated, "caller"), { kind: "unauthenticated", reason: "UNAUTHENTICATED" });
  t.like(peerErrorToDomain("fleet", unauthenticated, "service"), { kind: "internal" });

  t.like(peerErrorToDomain("fleet", new GrpcCallError(GrpcStatus.INTERNAL, "boom at 10.1.2.3", undefined, undefined), "caller"), {
    kind: "internal",
    message: "internal error",
  });
  t.like(peerErrorToDomain("fleet", new TypeError("x"), "caller"), { kind: "internal" });
});

test("the service credential is fetched once and cached until near expiry, then renewed without waiting", async (t) => {
  let clock = 1_000_000;
  let fetches = 0;
  let failing = false;
  const source = async (): Promise<ServiceToken> => {
    fetches += 1;
    await new Promise((r) => setTimeout(r, 5));
    if (failing) throw new Error("identity down");
    return { accessToken: `token-${fetches}`, expiresAt: clock + 300_000 };
  };
  const credential = createServiceCredential(source, { refreshBeforeExpiryMs: 60_000, now: () => clock });

  const first = await Promise.all(Array.from({ length: 50 }, () => credential.authorization()));
  t.is(fetches, 1, "one fetch for 50 concurrent calls");
  t.true(first.every((h) => h === "Bearer token-1"));

  clock += 200_000; // 100 s left: before the renewal point
  t.is(await credential.authorization(), "Bearer token-1");
  t.is(fetches, 1);

  clock += 50_000; // 50 s left: due for renewal; this call still gets the valid token
  t.is(await credential.authorization(), "Bearer token-1");
  await new Promise((r) => setTimeout(r, 20));
  t.is(fetches, 2);
  t.is(await credential.authorization(), "Bearer token-2");

  // identity down: a still-valid token keeps working ...
  failing = true;
  clock += 250_000; // token-2 has 50 s left
  t.is(await credential.authorization(), "Bearer token-2");
  await new Promise((r) => setTimeout(r, 20));
  // ... and with none left, calls fail UNAVAILABLE so that they are retried.
  clock += 60_000;
  const err = await t.throwsAsync(credential.authorization(), { instanceOf: DomainError });
  t.like(err, { kind: "unavailable", reason: "DEPENDENCY_UNAVAILABLE" });
  failing = false;
  t.regex(await credential.authorization(), /^Bearer token-\d+$/);
});

const contextWith = (deadline: number, authorization?: string): RequestContext => {
  const metadata = new Metadata();
  if (authorization) metadata.set("authorization", authorization);
  return {
    method: FleetService.method.getVehicle,
    requestId: "req-1",
    caller: ANONYMOUS,
    deadline,
    idempotencyKey: undefined,
    metadata,
    signal: new AbortController().signal,
    log: silent,
  };
};

test("a peer call's deadline is capped by the caller's, and its failure is DEPENDENCY_UNAVAILABLE", async (t) => {
  const fleet = await startStubFleet(1_000);
  const peer = createPeerClient("fleet", FleetService, { address: fleet.address, deadlineMs: 5_000 }, undefined);
  try {
    // Connect first, so that the capped call measures the deadline, not the channel's start-up.
    await t.throwsAsync(peer.getVehicle({ vehicleId: "warm-up" }, { ctx: contextWith(Date.now() + 5_000, "Bearer user-token") }));
    const started = Date.now();
    const err = await t.throwsAsync(peer.getVehicle({ vehicleId: "v-1" }, { ctx: contextWith(Date.now() + 300, "Bearer user-token") }), { instanceOf: DomainError });
    const elapsed = Date.now() - started;
    t.like(err, { kind: "unavailable", reason: "DEPENDENCY_UNAVAILABLE" });
    t.true(elapsed < 1_500, `gave up after ${elapsed} ms, not the peer's 5 s`);
    t.true(fleet.seen[1]!.deadlineMs <= 300, `the peer was told ${fleet.seen[1]!.deadlineMs} ms`);
    t.is(fleet.seen[1]!.authorization, "Bearer user-token", "the caller's token travels on by default");
  } finally {
    peer.close();
    fleet.stop();
  }
});

test("a call with no end user carries the service's own token; without a credential it is refused before sending", async (t) => {
  const fleet = await startStubFleet(0);
  const credential = createServiceCredential(async () => ({ accessToken: "svc-token", expiresAt: Date.now() + 600_000 }));
  const peer = createPeerClient("fleet", FleetService, { address: fleet.address, deadlineMs: 2_000 }, credential);
  const bare = createPeerClient("fleet", FleetService, { address: fleet.address, deadlineMs: 2_000 }, undefined);
  try {
    const err = await t.throwsAsync(peer.getVehicle({ vehicleId: "v-1" }), { instanceOf: DomainError });
    t.like(err, { kind: "not_found", reason: "NOT_FOUND" });
    t.is(fleet.seen.at(-1)!.authorization, "Bearer svc-token");
    // Explicitly as the service inside a user's request: the user's token does not travel.
    await t.throwsAsync(peer.getVehicle({ vehicleId: "v-1" }, { ctx: contextWith(Date.now() + 2_000, "Bearer user-token"), as: "service" }));
    t.is(fleet.seen.at(-1)!.authorization, "Bearer svc-token");
    const seenBefore = fleet.seen.length;
    const refused = await t.throwsAsync(bare.getVehicle({ vehicleId: "v-1" }), { instanceOf: DomainError });
    t.is(refused?.kind, "internal");
    t.is(fleet.seen.length, seenBefore, "nothing was sent without a token");
  } finally {
    peer.close();
    bare.close();
    fleet.stop();
  }
});
