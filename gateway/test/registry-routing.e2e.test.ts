import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import test from "ava";
import { pino } from "pino";
import { GetLocationResponseSchema, RentalService } from "../../gen/fleetmesh/rental/v1/rental_service_pb.js";
import { createTokenVerifier } from "../../services/platform/src/auth.js";
import { bindService, createGrpcServer, type ServiceHandlers } from "../../services/platform/src/grpc/server.js";
import { createMetrics } from "../../services/platform/src/metrics.js";
import { loadServiceRegistry } from "../../services/platform/src/registry.js";
import { createTestKeys } from "../../services/platform/src/testing/harness.js";
import { gatewayConfigSchema } from "../src/config.js";
import { build, routesOf } from "../src/main.js";

// A service added to services/registry.yaml is routed by the gateway from
// configuration alone: here a test-only service built from an existing
// descriptor (rental's, served here by a stub rather than the real rental
// service, with a registry that lists only it) answers through the gateway
// over Connect and gRPC, with the gateway's own auth.

const keys = createTestKeys();
const silent = pino({ level: "silent" });

test("a service added to the registry is routed without gateway code", async (t) => {
  const unused = Object.fromEntries(RentalService.methods.map((m) => [m.localName, () => Promise.reject(new Error("not in this test"))]));
  const rental = createGrpcServer({
    bindings: [bindService(RentalService, {
      ...unused,
      getLocation: async (req: { locationId: string }) => create(GetLocationResponseSchema, { location: { id: req.locationId, attributes: { name: "Berlin Hbf" } } }),
    } as unknown as ServiceHandlers<typeof RentalService>)],
    log: silent,
    metrics: createMetrics("rental-test"),
    verifier: createTokenVerifier(keys.auth),
  });
  const port = await rental.listen("127.0.0.1", 0);
  rental.setServing("SERVING");
  const shipped = loadServiceRegistry();
  // What adding rental to services/registry.yaml amounts to.
  const registry = {
    services: [...shipped.services, {
      name: "rental", grpc: ["fleetmesh.rental.v1.RentalService"], ports: { grpc: 50062, ops: 9462 }, database: "rental", peers: [], main: "dist/x.js", localEnv: {},
    }],
  };
  const gateway = await build(gatewayConfigSchema.parse({
    service: { name: "gateway" },
    http: { host: "127.0.0.1", port: 0 },
    ops: { host: "127.0.0.1", port: 0 },
    auth: keys.auth,
    cors: { allowedOrigins: [] },
    upstreams: { rental: { address: `127.0.0.1:${port}`, deadlineMs: 2_000 } },
    log: { level: "silent" },
    shutdown: { graceMs: 500 },
  }), { log: silent, registry });
  try {
    const headers = { authorization: `Bearer ${keys.token({ permissions: ["locations.read"] })}` };
    const baseUrl = `http://127.0.0.1:${gateway.port}`;
    for (const transport of [createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: false }), createGrpcTransport({ baseUrl })]) {
      const res = await createClient(RentalService, transport).getLocation({ locationId: "loc-1" }, { headers });
      t.is(res.location?.attributes?.name, "Berlin Hbf");
    }
    // The gateway's permission check applies to the new routes too.
    const denied = await t.throwsAsync(createClient(RentalService, createGrpcTransport({ baseUrl })).getLocation({ locationId: "x" }, {
      headers: { authorization: `Bearer ${keys.token({ permissions: [] })}` },
    }));
    t.regex(String(denied?.message), /permission locations.read required/);
  } finally {
    await gateway.stop();
    await rental.shutdown(500);
  }
});

test("an upstream the registry does not know, or an unknown gRPC service, stops the start listing each", (t) => {
  const registry = loadServiceRegistry();
  const err = t.throws(() => routesOf({
    billing: { enabled: true, address: "127.0.0.1:1", deadlineMs: 100 },
    fleet: { enabled: true, address: "127.0.0.1:1", deadlineMs: 100, services: ["fleetmesh.fleet.v1.FleetServic"] },
  }, registry));
  t.regex(err?.message ?? "", /upstreams\.billing: not a service of services\/registry\.yaml/);
  t.regex(err?.message ?? "", /upstreams\.fleet\.services: fleetmesh\.fleet\.v1\.FleetServic is not a gRPC service/);
  t.deepEqual(routesOf({ identity: { enabled: true, address: "127.0.0.1:1", deadlineMs: 100 } }, registry).map((r) => r.service.typeName),
    ["fleetmesh.identity.v1.IdentityService"]);
});
