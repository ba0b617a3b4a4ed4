// The ledger against a real PostgreSQL database of its own (Kafka off unless
// given), on port 0, with a client holding any permissions a test needs.
import { pino } from "pino";
import { LedgerService } from "../../../gen/fleetmesh/ledger/v1/ledger_service_pb.js";
import { ReportingService } from "../../../gen/fleetmesh/ledger/v1/reporting_service_pb.js";
import { PERMISSIONS } from "../../identity/src/domain/role-catalog.js";
import { createServiceClient, type ServiceClient } from "../../platform/src/grpc/client.js";
import type { Logger } from "../../platform/src/logger.js";
import { createTestDatabase, createTestKeys, type TestDatabase, type TestKeys } from "../../platform/src/testing/harness.js";
import { testServiceConfigInput } from "../../platform/src/testing/service-config.js";
import { ledgerConfigSchema, type LedgerConfig } from "../src/config.js";
import { build, type BuildOverrides, type LedgerRunning } from "../src/main.js";

export const ADMIN_SUBJECT = "00000000-0000-4000-8000-0000000000aa";

export interface LedgerHarness {
  readonly db: TestDatabase;
  readonly keys: TestKeys;
  readonly service: LedgerRunning;
  readonly ledger: ServiceClient<typeof LedgerService>;
  readonly reporting: ServiceClient<typeof ReportingService>;
  readonly config: LedgerConfig;
  /** Call options with a token holding `permissions` (default: every permission). */
  as(permissions?: readonly string[], subject?: string): { headers: Record<string, string> };
  stop(): Promise<void>;
}

export interface StartLedgerOptions {
  readonly kafka?: Record<string, unknown>;
  readonly ledger?: Record<string, unknown>;
  readonly peers?: Record<string, unknown>;
  readonly log?: Logger;
  readonly afterEventEffectCommitted?: BuildOverrides["afterEventEffectCommitted"];
}

export async function startLedger(options: StartLedgerOptions = {}): Promise<LedgerHarness> {
  const db = await createTestDatabase("ledger", "migrations/ledger");
  const keys = createTestKeys();
  const config = ledgerConfigSchema.parse(testServiceConfigInput({
    name: "ledger",
    db,
    auth: { ...keys.auth, enabled: true },
    extra: {
      ...(options.kafka ? { kafka: options.kafka } : {}),
      ...(options.ledger ? { ledger: options.ledger } : {}),
      // No identity in these tests: IssueInvoice (the one caller of it) gets UNAVAILABLE.
      peers: options.peers ?? { identity: { address: "127.0.0.1:9", deadlineMs: 1_000 } },
    },
  }));
  const service = await build(config, {
    log: options.log ?? pino({ level: "silent" }),
    ...(options.afterEventEffectCommitted ? { afterEventEffectCommitted: options.afterEventEffectCommitted } : {}),
  });
  const address = `127.0.0.1:${service.grpcPort}`;
  const ledger = createServiceClient(LedgerService, { address, deadlineMs: 15_000 });
  const reporting = createServiceClient(ReportingService, { address, deadlineMs: 30_000 });
  return {
    db, keys, service, ledger, reporting, config,
    as: (permissions = PERMISSIONS, subject = ADMIN_SUBJECT) => ({
      headers: { authorization: `Bearer ${keys.token({ permissions, sub: subject }, { expiresIn: 3600 })}` },
    }),
    async stop() {
      ledger.close();
      reporting.close();
      await service.stop();
      await db.drop();
    },
  };
}

export { rejectsWith, violatedFields } from "../../platform/src/testing/assertions.js";

/** The seeded accounts' ids (migrations/ledger/0001_ledger.sql). */
export { ACCOUNTS } from "../src/domain/model.js";
