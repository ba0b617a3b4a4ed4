// The mesh behind the gateway with Kafka on (one topic prefix per test file),
// for the end-to-end flows driven over Connect, gRPC-web and gRPC: the
// topics, the mesh, a transport per protocol, a depot and a pricing plan, and
// the helpers those flows share (callers by role, periods, events, refusals).
import { fromBinary, type DescMessage, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import type { ExecutionContext } from "ava";
import { IdentityService } from "../../gen/fleetmesh/identity/v1/identity_service_pb.js";
import { LocationType } from "../../gen/fleetmesh/rental/v1/location_pb.js";
import { RentalService } from "../../gen/fleetmesh/rental/v1/rental_service_pb.js";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { catalogPermissionsOf } from "../../services/identity/src/domain/role-catalog.js";
import { openKafkaTestContext, readTopic, waitFor, type KafkaTestContext, type ReadMessage } from "../../services/platform/src/testing/kafka.js";
import { startMesh, type Mesh, type MeshOptions } from "./mesh.js";

/** The mesh with Kafka, a transport per protocol through the gateway, a depot and a pricing plan. */
export interface EventMesh {
  readonly mesh: Mesh;
  readonly kafka: KafkaTestContext;
  readonly connect: Transport;
  readonly grpcWeb: Transport;
  readonly grpc: Transport;
  readonly location: string;
  readonly plan: string;
}

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
/** The next whole hour at least `days` days from now. */
export const futureBase = (days: number): number => Math.ceil((Date.now() + days * DAY) / HOUR) * HOUR;
export const periodAt = (base: number, startInHours: number, hours: number) => ({
  startTime: timestampFromDate(new Date(base + startInHours * HOUR)),
  endTime: timestampFromDate(new Date(base + (startInHours + hours) * HOUR)),
});
export const eur = (amountMinor: bigint) => ({ amountMinor, currencyCode: "EUR" });

export const AGENT = "00000000-0000-4000-8000-00000000a9e7";
export const MANAGER = "00000000-0000-4000-8000-00000000f1ee";
export const ADMIN = "00000000-0000-4000-8000-0000000000aa";

/** Call options for `subject` holding a role of the catalog (its permissions). */
export const asRole = (mesh: Mesh, subject: string, role: string) => ({
  headers: { authorization: `Bearer ${mesh.keys.token({ sub: subject, roles: [role], permissions: catalogPermissionsOf([role]) }, { expiresIn: 3600 })}` },
});

let counter = 0;
/** 1, 2, 3, ... in this test file. */
export const nextCount = (): number => ++counter;
export const unique = (): string => `${process.pid}-${Date.now().toString(36)}-${nextCount()}`;

type PricingRatesInit = NonNullable<MessageInitShape<typeof RentalService.method.createPricingPlan.input>["rates"]>;

/**
 * Makes `topics` under a fresh prefix (auto-create is off on the broker),
 * starts the mesh with `options(prefix)`, and creates a depot and a pricing
 * plan with `rates` through the gateway as a fleet manager.
 */
export async function startEventMesh(
  topics: readonly string[],
  options: (prefix: string) => MeshOptions,
  rates: PricingRatesInit,
): Promise<EventMesh> {
  const kafka = await openKafkaTestContext([...topics]);
  const mesh = await startMesh("test-keys", options(kafka.prefix));
  const connect = createConnectTransport({ baseUrl: mesh.baseUrl, httpVersion: "1.1" });
  const rental = createClient(RentalService, connect);
  const manager = asRole(mesh, MANAGER, "fleet_manager");
  const { location } = await rental.createLocation({ attributes: { name: `Depot ${unique()}`, type: LocationType.DEPOT, timeZone: "Europe/Berlin" } }, manager);
  const { pricingPlan } = await rental.createPricingPlan({ name: `Plan ${unique()}`, rates }, manager);
  return {
    mesh, kafka, connect,
    grpcWeb: createGrpcWebTransport({ baseUrl: mesh.baseUrl, httpVersion: "1.1" }),
    grpc: createGrpcTransport({ baseUrl: mesh.baseUrl }),
    location: location!.id,
    plan: pricingPlan!.id,
  };
}

/** Stops what startEventMesh started (either may be missing when it failed). */
export async function stopEventMesh(c: Partial<EventMesh> | undefined): Promise<void> {
  await c?.mesh?.stop();
  await c?.kafka?.close();
}

/** A user with the customer role, made through the gateway by an admin. */
export async function newCustomer(c: EventMesh): Promise<string> {
  const { user } = await createClient(IdentityService, c.connect).createUser({
    attributes: { email: `customer-${unique()}@example.test`, displayName: "Test Customer" }, roles: ["customer"],
  }, asRole(c.mesh, ADMIN, "admin"));
  return user!.id;
}

/** Messages on the file's `topic` keyed by `key`, once `types` (of protobuf package `pkg`) have all arrived. */
export const eventsOn = (c: EventMesh, topic: string, pkg: string, key: string, types: readonly string[]) =>
  waitFor(`${types.join(", ")} on ${topic} for ${key}`, async () => {
    const messages = (await readTopic(c.kafka.kafka, `${c.kafka.prefix}${topic}`)).filter((m) => m.key === key);
    const seen = messages.map((m) => m.header("event-type"));
    return types.every((type) => seen.includes(`${pkg}.${type}`)) ? messages : undefined;
  }, 30_000, 500);

export const decode = <Desc extends DescMessage>(messages: readonly ReadMessage[], schema: Desc): Array<MessageShape<Desc>> =>
  messages.filter((m) => m.header("event-type") === schema.typeName).map((m) => fromBinary(schema, m.value!));

/** The Connect error of a refused call, with the reason of its google.rpc.ErrorInfo. */
export async function refused(t: ExecutionContext, call: Promise<unknown>, code: Code, reason: string, label = ""): Promise<ConnectError> {
  const err = ConnectError.from(await t.throwsAsync(call));
  t.is(err.code, code, `${label} ${err.message}`);
  t.is(err.findDetails(ErrorInfoSchema)[0]?.reason, reason, `${label} ${err.message}`);
  return err;
}
