// A whole mesh for end-to-end tests: fleet, identity, rental, maintenance and ledger on fresh
// databases, a gateway in front, all on port 0 and all trusting the same keys.
// Rental calls identity and fleet as itself, with a mesh_service client.
import { createHash, randomUUID } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import { serviceConfigSchema, type AuthConfig } from "../../services/platform/src/config.js";
import type { Logger } from "../../services/platform/src/logger.js";
import type { RunningService } from "../../services/platform/src/service-runtime.js";
import { testTempDir, createTestDatabase, createTestKeys, type TestDatabase, type TestKeys } from "../../services/platform/src/testing/harness.js";
import { build as buildFleet } from "../../services/fleet/src/main.js";
import { build as buildIdentity, identityConfigSchema, type RunningIdentity } from "../../services/identity/src/main.js";
import { PERMISSIONS } from "../../services/identity/src/domain/role-catalog.js";
import { build as buildRental, type RentalRunning } from "../../services/rental/src/main.js";
import { rentalConfigSchema } from "../../services/rental/src/config.js";
import { build as buildMaintenance, type MaintenanceRunning } from "../../services/maintenance/src/main.js";
import { maintenanceConfigSchema } from "../../services/maintenance/src/config.js";
import { build as buildLedger, type LedgerRunning } from "../../services/ledger/src/main.js";
import { ledgerConfigSchema } from "../../services/ledger/src/config.js";
import { gatewayConfigSchema } from "../src/config.js";
import { build as buildGateway, type RunningGateway } from "../src/main.js";
import { testRedisUrl } from "../../services/platform/src/testing/infra.js";

export interface Mesh {
  readonly keys: TestKeys;
  /** The fleet service running now (a new one after restartFleet). */
  readonly fleet: RunningService;
  readonly identity: RunningIdentity;
  readonly rental: RentalRunning;
  readonly rentalAddress: string;
  /** Rental's database, for SQL checks of the timeline. */
  readonly rentalDb: TestDatabase;
  readonly maintenance: MaintenanceRunning;
  readonly maintenanceAddress: string;
  readonly maintenanceDb: TestDatabase;
  readonly ledger: LedgerRunning;
  readonly ledgerAddress: string;
  readonly ledgerDb: TestDatabase;
  readonly gateway: RunningGateway;
  readonly baseUrl: string;
  readonly fleetAddress: string;
  readonly identityAddress: string;
  /** The JWKS URL identity publishes its signing keys at. */
  readonly jwksUrl: string;
  /** Stops fleet's gRPC server and ops port, as if its process died (the shared infrastructure stays up). */
  stopFleet(): Promise<void>;
  /** Starts fleet again on the same address and database. */
  restartFleet(): Promise<void>;
  stop(): Promise<void>;
}

const silent = pino({ level: "silent" });

/**
 * `trust: "test-keys"` makes every process verify against the test key set
 * (tokens minted by the test); `"identity"` makes them fetch identity's JWKS
 * (tokens issued by identity itself).
 */
export interface MeshOptions {
  /** Identity's `externalIssuers` (delegated login), as in its YAML configuration. */
  readonly externalIssuers?: readonly unknown[];
  /** The gateway's upstream probe (faster in outage tests than the 5 s default). */
  readonly upstreamProbe?: { readonly intervalMs: number; readonly timeoutMs: number };
  /** The gateway's logger (silent by default). */
  readonly gatewayLog?: Logger;
  /** Fleet's `kafka` section (without it fleet runs with Kafka disabled); kept across restartFleet. */
  readonly fleetKafka?: Record<string, unknown>;
  /** Settings over rental's `database` section (e.g. poolMax for a benchmark). */
  readonly rentalDatabase?: Record<string, unknown>;
  /** Rental's `kafka` section (without it rental runs with Kafka disabled). */
  readonly rentalKafka?: Record<string, unknown>;
  /** Overrides of rental's own settings (the `rental` section). */
  readonly rentalSettings?: Record<string, unknown>;
  /** Maintenance's `kafka` section (without it maintenance runs with Kafka disabled). */
  readonly maintenanceKafka?: Record<string, unknown>;
  /** Overrides of maintenance's own settings (the `maintenance` section). */
  readonly maintenanceSettings?: Record<string, unknown>;
  /** The ledger's `kafka` section (without it the ledger runs with Kafka disabled). */
  readonly ledgerKafka?: Record<string, unknown>;
  /** Overrides of the ledger's own settings (the `ledger` section). */
  readonly ledgerSettings?: Record<string, unknown>;
  /** Services running but left out of the gateway's upstreams (tests of unrouted services). */
  readonly unroutedAtGateway?: readonly string[];
}

export async function startMesh(trust: "test-keys" | "identity", options: MeshOptions = {}): Promise<Mesh> {
  const keys = createTestKeys();
  const dir = testTempDir("fleetmesh-identity-");
  const signingKeysFile = join(dir, "signing-key.pem");
  writeFileSync(signingKeysFile, keys.privateKey.export({ format: "pem", type: "pkcs8" }));
  const databases: TestDatabase[] = [];
  const fleetDb = await createTestDatabase("fleet", "migrations/fleet");
  databases.push(fleetDb);
  const identityDb = await createTestDatabase("identity", "migrations/identity");
  databases.push(identityDb);
  const rentalDb = await createTestDatabase("rental", "migrations/rental");
  databases.push(rentalDb);
  const maintenanceDb = await createTestDatabase("maintenance", "migrations/maintenance");
  databases.push(maintenanceDb);
  const ledgerDb = await createTestDatabase("ledger", "migrations/ledger");
  databases.push(ledgerDb);

  const common = { log: { level: "silent" }, shutdown: { graceMs: 1_000 } };
  const identityConfig = (auth: AuthConfig) => identityConfigSchema.parse({
    service: { name: "identity" },
    grpc: { host: "127.0.0.1", port: 0 },
    ops: { host: "127.0.0.1", port: 0 },
    database: identityDb.config,
    auth,
    tokens: { issuer: keys.auth.issuer, audience: keys.auth.audience, signingKeysFile },
    passwords: { scrypt: { cost: 1024, blockSize: 8, parallelization: 1 } },
    redis: { url: testRedisUrl(), keyPrefix: `fm:test:${randomUUID()}:` },
    ...(options.externalIssuers ? { externalIssuers: options.externalIssuers } : {}),
    ...common,
  });
  // Identity names its key by a hash of the public key (as scripts/dev-keys.ts
  // does); the test key set knows it by a random kid. Identity verifies
  // against a key file listing the same public key under both names.
  const publicJwk = (JSON.parse(readFileSync(keys.auth.jwksFile, "utf8")) as { keys: Array<Record<string, string>> }).keys[0]!;
  const identityKid = createHash("sha256").update(`${publicJwk["n"]}.${publicJwk["e"]}`).digest("base64url").slice(0, 16);
  const bothKidsFile = join(dir, "jwks.json");
  writeFileSync(bothKidsFile, JSON.stringify({ keys: [publicJwk, { ...publicJwk, kid: identityKid }] }));
  const identity = await buildIdentity(identityConfig({ ...keys.auth, jwksFile: bothKidsFile }), { log: silent });
  const jwksUrl = `http://127.0.0.1:${identity.opsPort}/.well-known/jwks.json`;
  // Test-key trust still accepts identity's own tokens (the services' credentials).
  const auth: AuthConfig = trust === "identity"
    ? { ...keys.auth, jwksFile: undefined, jwksUrl, jwksMinRefreshSec: 1 }
    : { ...keys.auth, jwksFile: bothKidsFile };
  const fleetConfig = (grpcPort: number) => serviceConfigSchema.parse({
    service: { name: "fleet" },
    grpc: { host: "127.0.0.1", port: grpcPort },
    ops: { host: "127.0.0.1", port: 0 },
    database: fleetDb.config,
    auth,
    ...(options.fleetKafka ? { kafka: options.fleetKafka } : {}),
    ...common,
  });
  let fleet: RunningService | undefined = await buildFleet(fleetConfig(0), { log: silent });
  const fleetPort = fleet.grpcPort;
  const fleetAddress = `127.0.0.1:${fleetPort}`;
  const identityAddress = `127.0.0.1:${identity.grpcPort}`;
  const system = { subject: "", roles: ["admin"], permissions: new Set<string>(PERMISSIONS), anonymous: false };
  const rentalClient = await identity.useCases.clients.createServiceClient(system, { name: "rental", description: "", roles: ["mesh_service"] });
  const rental = await buildRental(rentalConfigSchema.parse({
    service: { name: "rental" },
    grpc: { host: "127.0.0.1", port: 0 },
    ops: { host: "127.0.0.1", port: 0 },
    database: { ...rentalDb.config, ...options.rentalDatabase },
    auth,
    peers: {
      identity: { address: identityAddress, deadlineMs: 5_000 },
      fleet: { address: fleetAddress, deadlineMs: 5_000 },
    },
    serviceCredential: { clientId: rentalClient.client.clientId, clientSecret: rentalClient.secret },
    ...(options.rentalKafka ? { kafka: options.rentalKafka } : {}),
    ...(options.rentalSettings ? { rental: options.rentalSettings } : {}),
    ...common,
  }), { log: process.env["FLEET_DEBUG_RENTAL"] ? pino({ level: "warn" }) : silent });
  const rentalAddress = `127.0.0.1:${rental.grpcPort}`;
  const maintenanceClient = await identity.useCases.clients.createServiceClient(system,
    { name: "maintenance", description: "", roles: ["mesh_service", "maintenance_service"] });
  const maintenance = await buildMaintenance(maintenanceConfigSchema.parse({
    service: { name: "maintenance" },
    grpc: { host: "127.0.0.1", port: 0 },
    ops: { host: "127.0.0.1", port: 0 },
    database: maintenanceDb.config,
    auth,
    peers: {
      rental: { address: rentalAddress, deadlineMs: 5_000 },
      identity: { address: identityAddress, deadlineMs: 5_000 },
      fleet: { address: fleetAddress, deadlineMs: 5_000 },
    },
    serviceCredential: { clientId: maintenanceClient.client.clientId, clientSecret: maintenanceClient.secret },
    ...(options.maintenanceKafka ? { kafka: options.maintenanceKafka } : {}),
    ...(options.maintenanceSettings ? { maintenance: options.maintenanceSettings } : {}),
    ...common,
  }), { log: process.env["FLEET_DEBUG_MAINTENANCE"] ? pino({ level: "warn" }) : silent });
  const maintenanceAddress = `127.0.0.1:${maintenance.grpcPort}`;
  const ledgerClient = await identity.useCases.clients.createServiceClient(system, { name: "ledger", description: "", roles: ["mesh_service"] });
  const ledger = await buildLedger(ledgerConfigSchema.parse({
    service: { name: "ledger" },
    grpc: { host: "127.0.0.1", port: 0 },
    ops: { host: "127.0.0.1", port: 0 },
    database: ledgerDb.config,
    auth,
    peers: { identity: { address: identityAddress, deadlineMs: 5_000 } },
    serviceCredential: { clientId: ledgerClient.client.clientId, clientSecret: ledgerClient.secret },
    ...(options.ledgerKafka ? { kafka: options.ledgerKafka } : {}),
    ...(options.ledgerSettings ? { ledger: options.ledgerSettings } : {}),
    ...common,
  }), { log: process.env["FLEET_DEBUG_LEDGER"] ? pino({ level: "warn" }) : silent });
  const ledgerAddress = `127.0.0.1:${ledger.grpcPort}`;
  const gateway = await buildGateway(gatewayConfigSchema.parse({
    service: { name: "gateway" },
    http: { host: "127.0.0.1", port: 0 },
    ops: { host: "127.0.0.1", port: 0 },
    auth,
    cors: { allowedOrigins: [] },
    upstreams: Object.fromEntries(Object.entries({
      fleet: { address: fleetAddress, deadlineMs: 5_000 },
      identity: { address: identityAddress, deadlineMs: 5_000 },
      rental: { address: rentalAddress, deadlineMs: 5_000 },
      maintenance: { address: maintenanceAddress, deadlineMs: 5_000 },
      ledger: { address: ledgerAddress, deadlineMs: 5_000 },
    }).filter(([name]) => !options.unroutedAtGateway?.includes(name))),
    ...(options.upstreamProbe ? { upstreamProbe: options.upstreamProbe } : {}),
    ...common,
  }), { log: options.gatewayLog ?? silent });
  return {
    keys,
    get fleet() {
      if (!fleet) throw new Error("fleet is stopped");
      return fleet;
    },
    identity,
    rental,
    rentalAddress,
    rentalDb,
    maintenance,
    maintenanceAddress,
    maintenanceDb,
    ledger,
    ledgerAddress,
    ledgerDb,
    gateway,
    baseUrl: `http://127.0.0.1:${gateway.port}`,
    fleetAddress,
    identityAddress,
    jwksUrl,
    async stopFleet() {
      const running = fleet;
      fleet = undefined;
      await running?.stop();
    },
    async restartFleet() {
      if (fleet) throw new Error("fleet is running");
      fleet = await buildFleet(fleetConfig(fleetPort), { log: silent });
    },
    async stop() {
      await gateway.stop();
      await ledger.stop();
      await maintenance.stop();
      await rental.stop();
      await fleet?.stop();
      await identity.stop();
      for (const db of databases) await db.drop();
    },
  };
}
