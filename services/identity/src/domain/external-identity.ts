// Delegated login through a trusted external OIDC issuer: how the claims of a
// verified external token become a Fleet mesh identity (email, display name,
// roles). Pure: verifying the token is an adapter's job (ExternalTokenVerifier
// port); this module only reads claims that already passed verification.
import { DomainError } from "../../../platform/src/errors.js";
import { roleDefinition } from "./role-catalog.js";
import { MAX_DISPLAY_NAME, normalizeEmail, validateEmail } from "./user.js";

/** RFC 8693 token types accepted as `subject_token_type`. */
export const SUBJECT_TOKEN_TYPES = ["urn:ietf:params:oauth:token-type:id_token", "urn:ietf:params:oauth:token-type:jwt"] as const;

/** The role that maps to everything; mapping an external group to it needs an explicit opt-in. */
export const ADMIN_ROLE = "admin";

/** How one trusted issuer's claims are read (from configuration). */
export interface ExternalIssuerPolicy {
  /** Operator's name for the issuer, e.g. "corporate-sso"; appears in rate-limit keys and logs. */
  readonly name: string;
  readonly emailClaim: string;
  /** The `email_verified` claim must be `true`. */
  readonly requireEmailVerified: boolean;
  /** An array of strings or a space-separated string. */
  readonly rolesClaim: string;
  /** External role or group -> Fleet mesh role name. */
  readonly roleMapping: Readonly<Record<string, string>>;
  /** Create an active user with the mapped roles on first login. */
  readonly autoProvision: boolean;
}

/** Who the external token says the caller is, after mapping. */
export interface ExternalIdentity {
  readonly issuer: string;
  /** The token's `sub`: stable per issuer. */
  readonly subject: string;
  /** Normalised (trimmed, lower case). */
  readonly email: string;
  readonly displayName: string;
  /** Fleet mesh role names the external roles map to, sorted, unique. */
  readonly roles: readonly string[];
}

/** Every refused external token looks alike to the client: INVALID_CREDENTIALS, with a short reason. */
export const externalTokenRefused = (why: string): DomainError =>
  new DomainError("unauthenticated", "INVALID_CREDENTIALS", `subject token refused: ${why}`);

export const externalUserNotProvisioned = (issuer: string): DomainError =>
  new DomainError(
    "failed_precondition",
    "EXTERNAL_USER_NOT_PROVISIONED",
    "no user has this email address and the issuer does not provision users; ask an administrator to create the user",
    { metadata: { issuer } },
  );

/**
 * Problems of a claim-to-role mapping: every target must be a catalog role
 * held by people (not a service-client role), and "admin" only with
 * `allowAdminMapping`.
 */
export function roleMappingProblems(mapping: Readonly<Record<string, string>>, allowAdminMapping: boolean): string[] {
  const problems: string[] = [];
  for (const [external, role] of Object.entries(mapping)) {
    const definition = roleDefinition(role);
    if (!definition) problems.push(`"${external}" maps to unknown role "${role}"`);
    else if (definition.kind === "service") problems.push(`"${external}" maps to "${role}", a service-client role`);
    else if (role === ADMIN_ROLE && !allowAdminMapping) {
      problems.push(`"${external}" maps to "${ADMIN_ROLE}": set allowAdminMapping: true to allow it`);
    }
  }
  return problems;
}

/** The external roles or groups a claim lists: an array of strings, or a space-separated string. */
export function externalRolesOf(value: unknown): string[] {
  if (typeof value === "string") return value.split(/\s+/).filter((s) => s !== "");
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === "string");
  return [];
}

/** Fleet mesh roles for the external roles; unmapped external roles are ignored. */
export function mapExternalRoles(external: readonly string[], mapping: Readonly<Record<string, string>>): string[] {
  const roles = new Set<string>();
  for (const name of external) if (Object.hasOwn(mapping, name)) roles.add(mapping[name]!);
  return [...roles].sort();
}

/**
 * Reads the identity out of verified claims: a subject, an email address
 * (verified, when the policy says so) and the mapped roles. Anything missing
 * refuses the token.
 */
export function readExternalIdentity(policy: ExternalIssuerPolicy, claims: Readonly<Record<string, unknown>>): ExternalIdentity {
  const { iss, sub } = claims;
  if (typeof sub !== "string" || sub === "" || sub.length > 255) throw externalTokenRefused("no subject");
  const raw = claims[policy.emailClaim];
  if (typeof raw !== "string") throw externalTokenRefused("no email address");
  const email = normalizeEmail(raw);
  if (validateEmail(email, "email").length > 0) throw externalTokenRefused("malformed email address");
  if (policy.requireEmailVerified && claims["email_verified"] !== true) throw externalTokenRefused("email address not verified");
  return {
    issuer: typeof iss === "string" ? iss : "",
    subject: sub,
    email,
    displayName: displayNameOf(claims, email),
    roles: mapExternalRoles(externalRolesOf(claims[policy.rolesClaim]), policy.roleMapping),
  };
}

/** `name`, else given and family name, else the email's local part; trimmed to the column's limit. */
function displayNameOf(claims: Readonly<Record<string, unknown>>, email: string): string {
  const text = (v: unknown): string => (typeof v === "string" ? v.trim() : "");
  const name = text(claims["name"]) || [text(claims["given_name"]), text(claims["family_name"])].filter(Boolean).join(" ") || email.split("@")[0]!;
  return name.slice(0, MAX_DISPLAY_NAME);
}

/** Roles to add to a user who holds `held`: mapped roles are added, roles granted in Fleet mesh are never removed. */
export const rolesToAdd = (held: readonly string[], mapped: readonly string[]): string[] => mapped.filter((r) => !held.includes(r));
