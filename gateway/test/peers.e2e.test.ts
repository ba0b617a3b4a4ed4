import anyTest, { type TestFn } from "ava";
import { pino } from "pino";
import { FleetService } from "../../gen/fleetmesh/fleet/v1/fleet_service_pb.js";
import { IdentityService } from "../../gen/fleetmesh/identity/v1/identity_service_pb.js";
import { DomainError } from "../../services/platform/src/errors.js";
import { createServiceClient } from "../../services/platform/src/grpc/client.js";
import { createPeerClient } from "../../services/platform/src/peers/peer-client.js";
import { createPeers } from "../../services/platform/src/peers/peers.js";
import { createServiceCredential, identityTokenSource } from "../../services/platform/src/peers/service-credential.js";
import { startMesh, type Mesh } from "./mesh.js";

// Service-to-service calls through the kit against the real identity and
// fleet services: a service acting as itself (as its event consumers and
// scheduled jobs do, with no end user) gets a client_credentials token from
// identity for its `mesh_service` client, once, and fleet accepts it.

const test = anyTest as TestFn<Mesh & { adminToken: string }>;
const ADMIN = { email: "peers-admin@example.test", password: "correct-horse-battery-staple-7" };

test.before(async (t) => {
  const mesh = await startMesh("identity");
  await mesh.identity.useCases.users.bootstrapAdmin({ email: ADMIN.email, displayName: "Peer Admin", password: ADMIN.password });
  const identity = createServiceClient(IdentityService, { address: mesh.identityAddress, deadlineMs: 5_000 });
  const login = await identity.login({ email: ADMIN.email, password: ADMIN.password });
  identity.close();
  t.context = { ...mesh, adminToken: login.tokens!.accessToken };
});
test.after.always(async (t) => {
  await t.context.stop();
});

async function serviceClientWith(mesh: Mesh & { adminToken: string }, roles: string[]) {
  const identity = createServiceClient(IdentityService, { address: mesh.identityAddress, deadlineMs: 5_000 });
  try {
    const created = await identity.createServiceClient(
      { name: `svc ${roles.join(",")}`, roles },
      { headers: { authorization: `Bearer ${mesh.adminToken}` } },
    );
    return { clientId: created.serviceClient!.clientId, clientSecret: created.clientSecret };
  } finally {
    identity.close();
  }
}

test("a call without an end user carries the service's token from identity, fetched once for many calls", async (t) => {
  const mesh = t.context;
  const secret = await serviceClientWith(mesh, ["mesh_service"]);
  const identity = createServiceClient(IdentityService, { address: mesh.identityAddress, deadlineMs: 5_000 });
  let issued = 0;
  const source = identityTokenSource(identity, secret.clientId, secret.clientSecret);
  const credential = createServiceCredential(async () => {
    issued += 1;
    return source();
  });
  const fleet = createPeerClient("fleet", FleetService, { address: mesh.fleetAddress, deadlineMs: 5_000 }, credential);
  try {
    const pages = await Promise.all(Array.from({ length: 20 }, () => fleet.listVehicles({})));
    t.is(pages.length, 20);
    t.is(issued, 1, "one token for twenty calls");
    const missing = await t.throwsAsync(fleet.getVehicle({ vehicleId: "00000000-0000-4000-8000-000000000001" }), { instanceOf: DomainError });
    t.like(missing, { kind: "not_found", reason: "VEHICLE_NOT_FOUND" });
    t.is(missing?.metadata["dependency"], "fleet");
  } finally {
    fleet.close();
    identity.close();
  }
});

test("createPeers wires the credential from config; a service role without the permission is our misconfiguration", async (t) => {
  const mesh = t.context;
  const partner = await serviceClientWith(mesh, ["partner"]);
  const peers = createPeers({
    peers: {
      identity: { enabled: true, address: mesh.identityAddress, deadlineMs: 5_000 },
      fleet: { enabled: true, address: mesh.fleetAddress, deadlineMs: 5_000 },
    },
    serviceCredential: { issuer: "identity", ...partner, refreshBeforeExpirySec: 60 },
  }, pino({ level: "silent" }));
  try {
    t.truthy(peers.credential);
    const fleet = peers.client("fleet", FleetService);
    t.is(peers.client("fleet", FleetService), fleet, "one client per peer");
    // The partner role may not list vehicles: fleet says PERMISSION_DENIED to
    // the service's own token, which the calling service reports as INTERNAL.
    const err = await t.throwsAsync(fleet.listVehicles({}), { instanceOf: DomainError });
    t.like(err, { kind: "internal", reason: "INTERNAL" });
    t.throws(() => peers.client("rental", FleetService), { message: /peer "rental" is not configured/ });
  } finally {
    peers.close();
  }
});

test("a wrong service secret leaves calls UNAVAILABLE (retryable), never a call without a token", async (t) => {
  const mesh = t.context;
  const peers = createPeers({
    peers: {
      identity: { enabled: true, address: mesh.identityAddress, deadlineMs: 5_000 },
      fleet: { enabled: true, address: mesh.fleetAddress, deadlineMs: 5_000 },
    },
    serviceCredential: { issuer: "identity", clientId: "svc_nobody", clientSecret: "wrong", refreshBeforeExpirySec: 60 },
  }, pino({ level: "silent" }));
  try {
    const err = await t.throwsAsync(peers.client("fleet", FleetService).listVehicles({}), { instanceOf: DomainError });
    t.like(err, { kind: "unavailable", reason: "DEPENDENCY_UNAVAILABLE" });
  } finally {
    peers.close();
  }
});
