// Tests only: a domain service's configuration for a test, on port 0 against
// a test database, with the kit's defaults. Services' harnesses add their own
// sections (kafka, peers, identity's tokens) through `extra`.
import { serviceConfigSchema, type AuthConfig, type ServiceConfig } from "../config.js";
import type { TestDatabase } from "./harness.js";

export interface TestServiceConfigOptions {
  readonly name: string;
  readonly db: Pick<TestDatabase, "config">;
  readonly auth: AuthConfig;
  /** Merged over the defaults before validation (e.g. { kafka }, { peers }). */
  readonly extra?: Readonly<Record<string, unknown>>;
}

/** The raw (unvalidated) test configuration, for services whose schema extends the kit's. */
export const testServiceConfigInput = (options: TestServiceConfigOptions): Record<string, unknown> => ({
  service: { name: options.name },
  grpc: { host: "127.0.0.1", port: 0 },
  ops: { host: "127.0.0.1", port: 0 },
  database: options.db.config,
  auth: options.auth,
  log: { level: "silent" },
  shutdown: { graceMs: 2_000 },
  ...options.extra,
});

export const testServiceConfig = (options: TestServiceConfigOptions): ServiceConfig =>
  serviceConfigSchema.parse(testServiceConfigInput(options));
