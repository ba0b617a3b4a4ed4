import { DomainError, type FieldViolation } from "../../../platform/src/errors.js";

export const SERVICE_CLIENT_STATUSES = ["active", "revoked"] as const;
export type ServiceClientStatus = (typeof SERVICE_CLIENT_STATUSES)[number];

/** An OAuth 2.0 client of the client_credentials grant. Its secret is never part of it. */
export interface ServiceClient {
  readonly id: string;
  /** Public identifier, "svc_" + 32 hex digits. */
  readonly clientId: string;
  readonly name: string;
  readonly description: string;
  /** Role names, sorted. */
  readonly roles: readonly string[];
  readonly status: ServiceClientStatus;
  /** Last four characters of the secret. */
  readonly secretHint: string;
  readonly lastUseTime: Date | null;
  readonly revokeTime: Date | null;
  readonly revokeReason: string | null;
  readonly createdAt: Date;
  readonly createdBy: string | null;
}

export const MAX_CLIENT_NAME = 120;
export const MAX_CLIENT_DESCRIPTION = 1000;
export const MAX_REVOKE_REASON = 500;
export const CLIENT_ID_PATTERN = /^svc_[0-9a-f]{32}$/;

export function validateServiceClient(input: { name: string; description: string }): FieldViolation[] {
  const out: FieldViolation[] = [];
  if (input.name === "") out.push({ field: "name", description: "is required", reason: "REQUIRED" });
  else if (input.name.length > MAX_CLIENT_NAME) out.push({ field: "name", description: `must be at most ${MAX_CLIENT_NAME} characters`, reason: "TOO_LONG" });
  if (input.description.length > MAX_CLIENT_DESCRIPTION) {
    out.push({ field: "description", description: `must be at most ${MAX_CLIENT_DESCRIPTION} characters`, reason: "TOO_LONG" });
  }
  return out;
}

export const serviceClientNotFound = (id: string): DomainError =>
  new DomainError("not_found", "SERVICE_CLIENT_NOT_FOUND", `service client ${id} not found`, { metadata: { service_client_id: id } });
