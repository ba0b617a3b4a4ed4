import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { status as GrpcStatus } from "@grpc/grpc-js";
import anyTest, { type TestFn } from "ava";
import { FleetService } from "../../gen/fleetmesh/fleet/v1/fleet_service_pb.js";
import { IdentityService } from "../../gen/fleetmesh/identity/v1/identity_service_pb.js";
import { MaintenanceService } from "../../gen/fleetmesh/maintenance/v1/maintenance_service_pb.js";
import { RentalService } from "../../gen/fleetmesh/rental/v1/rental_service_pb.js";
import { methodAuthorization } from "../../services/platform/src/auth.js";
import { repoRoot } from "../../services/platform/src/db.js";
import { createServiceClient, GrpcCallError } from "../../services/platform/src/grpc/client.js";
import { startMesh, type Mesh } from "./mesh.js";
import { serviceDescriptor } from "../../services/platform/src/grpc/catalog.js";
import { loadServiceRegistry } from "../../services/platform/src/registry.js";

// Every RPC of every service of services/registry.yaml, called as anonymous, with an
// expired token and as each role of the documented role table
// (docs/roles.md), straight to the service over gRPC and through the
// gateway over Connect. The outcome must match the table: no token ->
// UNAUTHENTICATED, a role without the RPC's permission -> PERMISSION_DENIED,
// a role with it -> past authorization (whatever the empty request earns).

const test = anyTest as TestFn<Mesh>;
/** Every gRPC service of services/registry.yaml, with the registered service that serves it. */
const SERVICES: ReadonlyArray<{ name: string; service: DescService }> = loadServiceRegistry().services.flatMap((s) =>
  s.grpc.map((typeName) => ({ name: s.name, service: serviceDescriptor(typeName)! })));

/** Role -> permissions, parsed from the "Permissions by role" table of docs/roles.md. */
function documentedRoles(): Map<string, Set<string>> {
  const doc = readFileSync(resolve(repoRoot, "docs/roles.md"), "utf8");
  const section = doc.split("## Permissions by role")[1]?.split("\n## ")[0] ?? "";
  const roles = new Map<string, Set<string>>();
  for (const line of section.split("\n")) {
    const cells = line.split("|").map((c) => c.trim());
    if (cells.length < 4 || cells[1] === "role" || cells[1]?.startsWith("---")) continue;
    roles.set(cells[1]!, new Set(cells[2]!.split(",").map((p) => p.trim()).filter(Boolean)));
  }
  return roles;
}

/** "broken: <code>" is an answer no principal should get: a crash, a missing route or a dependency down. */
type Outcome = "unauthenticated" | "permission_denied" | "authorized" | `broken: ${string}`;

// Past authorization, an empty request earns an answer or a client error
// (INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION...). These codes mean the
// call never got a fair hearing, so they do not count as "authorized".
const BROKEN_GRPC = new Set([GrpcStatus.INTERNAL, GrpcStatus.UNKNOWN, GrpcStatus.UNIMPLEMENTED, GrpcStatus.UNAVAILABLE,
  GrpcStatus.DEADLINE_EXCEEDED, GrpcStatus.DATA_LOSS]);
const BROKEN_CONNECT = new Set([Code.Internal, Code.Unknown, Code.Unimplemented, Code.Unavailable, Code.DeadlineExceeded, Code.DataLoss]);

const classifyGrpc = (err: unknown): Outcome => {
  if (!(err instanceof GrpcCallError)) return `broken: ${String(err)}`;
  if (err.code === GrpcStatus.UNAUTHENTICATED) return "unauthenticated";
  if (err.code === GrpcStatus.PERMISSION_DENIED) return "permission_denied";
  return BROKEN_GRPC.has(err.code) ? `broken: ${GrpcStatus[err.code]}` : "authorized";
};

const classifyConnect = (err: unknown): Outcome => {
  const e = ConnectError.from(err);
  if (e.code === Code.Unauthenticated) return "unauthenticated";
  if (e.code === Code.PermissionDenied) return "permission_denied";
  return BROKEN_CONNECT.has(e.code) ? `broken: ${Code[e.code]}` : "authorized";
};

test.before(async (t) => {
  t.context = await startMesh("test-keys");
});
test.after.always(async (t) => {
  await t.context.stop();
});

test("the documented role table covers the seeded roles", (t) => {
  const roles = documentedRoles();
  t.deepEqual([...roles.keys()].sort(), [
    "accountant", "admin", "conductor", "customer", "driver", "fleet_manager", "maintenance_service", "mechanic", "mesh_service",
    "partner", "rental_agent",
  ]);
});

test("every RPC answers anonymous, expired and each role exactly as the role table says", async (t) => {
  const mesh = t.context;
  const roles = documentedRoles();
  const principals: Array<{ name: string; headers: Record<string, string>; permissions: ReadonlySet<string> | null }> = [
    { name: "anonymous", headers: {}, permissions: null },
    {
      name: "expired",
      headers: { authorization: `Bearer ${mesh.keys.token({ permissions: [...roles.get("admin")!] }, { expiresIn: -120 })}` },
      permissions: null,
    },
    ...[...roles].map(([role, permissions]) => ({
      name: role,
      headers: { authorization: `Bearer ${mesh.keys.token({ roles: [role], permissions: [...permissions] }, { expiresIn: 600 })}` },
      permissions,
    })),
  ];
  const gateway = createConnectTransport({ baseUrl: mesh.baseUrl, httpVersion: "1.1" });
  let checked = 0;
  const mismatches: string[] = [];
  // A service added to the registry must be added to the test mesh too: it fails here until it is.
  const addressOf: Record<string, string> = {
    fleet: mesh.fleetAddress, identity: mesh.identityAddress, rental: mesh.rentalAddress, maintenance: mesh.maintenanceAddress,
    ledger: mesh.ledgerAddress,
  };
  t.deepEqual(SERVICES.filter(({ name }) => addressOf[name] === undefined).map(({ name }) => name), [], "registered services missing from the test mesh");
  for (const { name, service } of SERVICES) {
    const address = addressOf[name]!;
    const direct = createServiceClient(service, { address, deadlineMs: 5_000 }) as unknown as
      Record<string, (req: object, o: object) => Promise<unknown>> & { close(): void };
    const edge = createClient(service, gateway) as unknown as Record<string, (req: object, o: object) => Promise<unknown>>;
    for (const method of service.methods) {
      const requirement = methodAuthorization(method)!;
      for (const principal of principals) {
        const expected: Outcome = requirement.anonymous
          ? "authorized"
          : principal.permissions === null
            ? "unauthenticated"
            : principal.permissions.has(requirement.permission)
              ? "authorized"
              : "permission_denied";
        const viaGrpc = await direct[method.localName]!({}, { headers: principal.headers }).then(() => "authorized" as Outcome, classifyGrpc);
        const viaGateway = await edge[method.localName]!({}, { headers: principal.headers }).then(() => "authorized" as Outcome, classifyConnect);
        checked++;
        const where = `${service.typeName}/${method.name} as ${principal.name}`;
        if (viaGrpc !== expected) mismatches.push(`${where} direct: ${viaGrpc}, documented: ${expected}`);
        if (viaGateway !== expected) mismatches.push(`${where} via gateway: ${viaGateway}, documented: ${expected}`);
      }
    }
    direct.close();
  }
  t.deepEqual(mismatches, []);
  t.is(checked, SERVICES.reduce((n, { service }) => n + service.methods.length, 0) * principals.length);
  t.true(SERVICES.some(({ service }) => service === FleetService) && SERVICES.some(({ service }) => service === IdentityService)
    && SERVICES.some(({ service }) => service === RentalService) && SERVICES.some(({ service }) => service === MaintenanceService));
  t.log(`${checked} RPC x principal combinations checked on both paths`);
});
