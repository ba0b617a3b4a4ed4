import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import anyTest, { type TestFn } from "ava";
import { LedgerService } from "../../gen/fleetmesh/ledger/v1/ledger_service_pb.js";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb.js";
import { ServerReflection as ReflectionV1 } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ReflectionV1Alpha } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { startMesh, type Mesh } from "./mesh.js";

// The gateway's own services in protocol detail (grpcurl.e2e.test.ts is the
// operator's view): reflection v1 and v1alpha, health Check/Watch/List, and
// UNIMPLEMENTED for unknown paths in every protocol.

const test = anyTest.serial as TestFn<Mesh>;

test.before(async (t) => {
  // The ledger runs but is left out of the gateway's routes: the unrouted service of these tests.
  t.context = await startMesh("test-keys", { upstreamProbe: { intervalMs: 200, timeoutMs: 500 }, unroutedAtGateway: ["ledger"] });
});
test.after.always(async (t) => {
  await t.context?.stop();
});

const grpc = (mesh: Mesh): Transport => createGrpcTransport({ baseUrl: mesh.baseUrl });

type Query = Parameters<ReturnType<typeof createClient<typeof ReflectionV1>>["serverReflectionInfo"]>[0] extends AsyncIterable<infer R> ? R : never;

/** One reflection stream: sends the queries, returns the answers in order. */
async function reflect(mesh: Mesh, queries: ReadonlyArray<Partial<Query>>, version: "v1" | "v1alpha" = "v1") {
  const client = createClient(version === "v1" ? ReflectionV1 : ReflectionV1Alpha, grpc(mesh)) as unknown as ReturnType<typeof createClient<typeof ReflectionV1>>;
  async function* requests() {
    for (const q of queries) yield { host: "", ...q } as Query;
  }
  const answers = [];
  for await (const a of client.serverReflectionInfo(requests())) answers.push(a);
  return answers;
}

const fileNames = (answer: Awaited<ReturnType<typeof reflect>>[number]) => {
  if (answer.messageResponse.case !== "fileDescriptorResponse") throw new Error(`not files: ${answer.messageResponse.case}`);
  return answer.messageResponse.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b));
};

test("reflection v1 and v1alpha list the same services", async (t) => {
  for (const version of ["v1", "v1alpha"] as const) {
    const [answer] = await reflect(t.context, [{ messageRequest: { case: "listServices", value: "*" } }], version);
    t.is(answer?.messageResponse.case, "listServicesResponse", version);
    const names = answer?.messageResponse.case === "listServicesResponse" ? answer.messageResponse.value.service.map((s) => s.name).sort() : [];
    t.deepEqual(names, [
      "fleetmesh.fleet.v1.FleetService", "fleetmesh.identity.v1.IdentityService", "fleetmesh.maintenance.v1.MaintenanceService",
      "fleetmesh.rental.v1.RentalService", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
    ], version);
  }
});

test("file_by_filename and file_containing_symbol return the file first and every transitive import", async (t) => {
  const [byName, bySymbol, byMethod] = await reflect(t.context, [
    { messageRequest: { case: "fileByFilename", value: "fleetmesh/fleet/v1/fleet_service.proto" } },
    { messageRequest: { case: "fileContainingSymbol", value: "fleetmesh.identity.v1.User" } },
    { messageRequest: { case: "fileContainingSymbol", value: "fleetmesh.fleet.v1.FleetService.GetVehicle" } },
  ]);
  for (const [answer, first] of [[byName, "fleetmesh/fleet/v1/fleet_service.proto"], [bySymbol, "fleetmesh/identity/v1/user.proto"],
    [byMethod, "fleetmesh/fleet/v1/fleet_service.proto"]] as const) {
    const files = fileNames(answer!);
    t.is(files[0]?.name, first);
    const names = new Set(files.map((f) => f.name));
    // Closed under imports: a client can build every descriptor from this answer alone.
    for (const f of files) for (const dep of f.dependency) t.true(names.has(dep), `${f.name} imports ${dep}, missing`);
    t.is(names.size, files.length, "each file once");
  }
  const names = fileNames(byName!).map((f) => f.name);
  for (const dep of ["fleetmesh/fleet/v1/vehicle.proto", "fleetmesh/common/v1/options.proto", "google/protobuf/descriptor.proto"]) {
    t.true(names.includes(dep), dep);
  }
});

test("unknown symbols and files: a NOT_FOUND error_response on a stream that stays usable", async (t) => {
  const [symbol, file, after] = await reflect(t.context, [
    { messageRequest: { case: "fileContainingSymbol", value: "fleetmesh.fleet.v1.NoSuchThing" } },
    { messageRequest: { case: "fileByFilename", value: "no/such.proto" } },
    { messageRequest: { case: "fileContainingSymbol", value: "grpc.health.v1.Health" } },
  ], "v1alpha");
  for (const answer of [symbol, file]) {
    t.is(answer?.messageResponse.case, "errorResponse");
    if (answer?.messageResponse.case === "errorResponse") t.is(answer.messageResponse.value.errorCode, Code.NotFound);
  }
  t.is(fileNames(after!)[0]?.name, "grpc/health/v1/health.proto");
});

test("extensions: the authorization method option by number, and all numbers of MethodOptions", async (t) => {
  const [byNumber, numbers] = await reflect(t.context, [
    { messageRequest: { case: "fileContainingExtension", value: { containingType: "google.protobuf.MethodOptions", extensionNumber: 51001 } as never } },
    { messageRequest: { case: "allExtensionNumbersOfType", value: "google.protobuf.MethodOptions" } },
  ]);
  t.is(fileNames(byNumber!)[0]?.name, "fleetmesh/common/v1/options.proto");
  t.is(numbers?.messageResponse.case, "allExtensionNumbersResponse");
  if (numbers?.messageResponse.case === "allExtensionNumbersResponse") t.true(numbers.messageResponse.value.extensionNumber.includes(51001));
});

test("health Watch follows the upstream probe; List reports every routed service", async (t) => {
  const mesh = t.context;
  const health = createClient(Health, grpc(mesh));
  const list = await health.list({});
  t.deepEqual(Object.fromEntries(Object.entries(list.statuses).map(([k, v]) => [k, v.status])), {
    "": Status.SERVING,
    "fleetmesh.fleet.v1.FleetService": Status.SERVING,
    "fleetmesh.identity.v1.IdentityService": Status.SERVING,
    "fleetmesh.maintenance.v1.MaintenanceService": Status.SERVING,
    "fleetmesh.rental.v1.RentalService": Status.SERVING,
  });
  const abort = new AbortController();
  const seen: Status[] = [];
  const watching = (async () => {
    try {
      for await (const r of health.watch({ service: "fleetmesh.fleet.v1.FleetService" }, { signal: abort.signal })) {
        seen.push(r.status);
        if (seen.length === 1) await mesh.stopFleet();
        if (seen.length === 2) await mesh.restartFleet();
        if (seen.length === 3) abort.abort();
      }
    } catch (err) {
      if (ConnectError.from(err).code !== Code.Canceled) throw err;
    }
  })();
  await watching;
  t.deepEqual(seen, [Status.SERVING, Status.NOT_SERVING, Status.SERVING]);
  const unknown = await t.throwsAsync(health.check({ service: "fleetmesh.ledger.v1.LedgerService" }));
  t.is(ConnectError.from(unknown).code, Code.NotFound);
});

test("an unrouted method: UNIMPLEMENTED over gRPC, gRPC-web and Connect", async (t) => {
  const mesh = t.context;
  for (const [name, transport] of [
    ["gRPC", grpc(mesh)],
    ["gRPC-web", createGrpcWebTransport({ baseUrl: mesh.baseUrl, httpVersion: "1.1" })],
    ["Connect", createConnectTransport({ baseUrl: mesh.baseUrl, httpVersion: "1.1" })],
  ] as const) {
    const err = await t.throwsAsync(createClient(LedgerService, transport).getInvoice({}));
    t.is(ConnectError.from(err).code, Code.Unimplemented, name);
  }
});

test("an unrouted method over gRPC-web text: the UNIMPLEMENTED trailer frame, base64", async (t) => {
  const res = await fetch(`${t.context.baseUrl}/fleetmesh.ledger.v1.LedgerService/GetInvoice`, {
    method: "POST",
    headers: { "content-type": "application/grpc-web-text", "x-grpc-web": "1" },
    body: Buffer.from([0, 0, 0, 0, 0]).toString("base64"),
  });
  t.is(res.status, 200);
  t.is(res.headers.get("content-type"), "application/grpc-web-text");
  const frame = Buffer.from(await res.text(), "base64");
  t.is(frame[0], 0x80, "a trailer frame");
  const trailer = frame.subarray(5, 5 + frame.readUInt32BE(1)).toString("latin1");
  t.regex(trailer, /^grpc-status: 12\r\n/m);
  t.regex(trailer, /grpc-message: \/fleetmesh\.ledger\.v1\.LedgerService\/GetInvoice is not served by the gateway\r\n/);
});

test("an unknown path over plain HTTP: the Connect 404 unimplemented error", async (t) => {
  const res = await fetch(`${t.context.baseUrl}/no/such/thing`);
  t.is(res.status, 404);
  t.deepEqual(await res.json(), { code: "unimplemented", message: "/no/such/thing is not served by the gateway" });
});
