import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  IdentityService,
  type CreateStaffProfileRequest,
  type CreateUserRequest,
  type UpdateCurrentUserRequest,
  type UpdateStaffProfileRequest,
  type UpdateUserRequest,
} from "../../../../../gen/fleetmesh/identity/v1/identity_service_pb.js";
import { StaffProfileAttributesSchema } from "../../../../../gen/fleetmesh/identity/v1/staff_profile_pb.js";
import { UserAttributesSchema } from "../../../../../gen/fleetmesh/identity/v1/user_pb.js";
import { create } from "@bufbuild/protobuf";
import type { RequestContext } from "../../../../platform/src/context.js";
import { invalidArgument } from "../../../../platform/src/errors.js";
import { bindService, type ServiceBinding } from "../../../../platform/src/grpc/server.js";
import { Violations } from "../../../../platform/src/validation.js";
import type { IdentityUseCases } from "../../app/identity-use-cases.js";
import { SUBJECT_TOKEN_TYPES } from "../../domain/external-identity.js";
import { MAX_REVOKE_REASON } from "../../domain/service-client.js";
import { UPDATABLE_STAFF_FIELDS, type UpdatableStaffField } from "../../domain/staff-profile.js";
import {
  MAX_DISABLE_REASON,
  SELF_UPDATABLE_FIELDS,
  UPDATABLE_USER_FIELDS,
  type UpdatableUserField,
} from "../../domain/user.js";
import {
  roleToProto,
  serviceClientToProto,
  staffAttributesFromProto,
  staffProfileToProto,
  staffTypeFromProto,
  tokenSetToProto,
  userAttributesFromProto,
  userStatusFromProto,
  userToProto,
} from "../proto/identity-proto.js";

// Transport limits: generous enough for any valid value, tight enough that
// nobody makes the service hash megabytes.
const MAX_PASSWORD_INPUT = 1024;
const MAX_TOKEN_INPUT = 512;
/** External ID tokens carry more claims than ours; the gateway's form limit is 16 KiB. */
const MAX_SUBJECT_TOKEN_INPUT = 8192;
const MAX_CLIENT_ID_INPUT = 100;
const MAX_ROLE_NAME = 63;
const MAX_ROLES = 20;
const MAX_QUERY = 100;
const ROLE_NAME = /^[a-z][a-z0-9_]*$/;

const check = (v: Violations): void => {
  if (!v.empty) throw invalidArgument(v.list);
};

/**
 * Responses of these RPCs carry secrets (tokens, a client secret). The
 * idempotency layer stores responses in plain bytes for a day, so a key is
 * refused here: the handler's failure rolls the stored key back with it.
 */
function refuseIdempotencyKey(ctx: RequestContext): void {
  if (ctx.idempotencyKey !== undefined) {
    throw invalidArgument(
      [{ field: "idempotency-key", description: "is not accepted on RPCs whose responses carry secrets", reason: "UNSUPPORTED" }],
    );
  }
}

const requiredText = (v: Violations, field: string, value: string, max: number): Violations =>
  value === "" ? v.add(field, "is required", "REQUIRED") : v.maxLength(field, value, max);

const pageOf = (page: { pageSize: number; pageToken: string } | undefined, v: Violations) => {
  const size = page?.pageSize ?? 0;
  if (size < 0) v.add("page.page_size", "must not be negative", "OUT_OF_RANGE");
  const token = page?.pageToken ?? "";
  v.maxLength("page.page_token", token, 512);
  return { pageSize: size, pageToken: token };
};

const versionAtLeast = (v: Violations, value: bigint, required: boolean): void => {
  if (required && value <= 0n) v.add("expected_row_version", "is required: pass the row_version you last read", "REQUIRED");
  else if (value < 0n) v.add("expected_row_version", "must not be negative", "OUT_OF_RANGE");
};

const roleName = (v: Violations, field: string, value: string): void => {
  if (value === "") v.add(field, "is required", "REQUIRED");
  else if (value.length > MAX_ROLE_NAME || !ROLE_NAME.test(value)) v.add(field, "must be a lower snake case role name", "INVALID_FORMAT");
};

const roleList = (v: Violations, roles: readonly string[]): void => {
  if (roles.length > MAX_ROLES) v.add("roles", `at most ${MAX_ROLES} roles`, "TOO_MANY");
  roles.forEach((r, i) => roleName(v, `roles[${i}]`, r));
};

/** Update-mask paths as attribute names: "attributes." prefix optional, JSON (camelCase) names accepted. */
function maskFields<F extends string>(paths: readonly string[], allowed: readonly F[], v: Violations): F[] {
  if (paths.length === 0) v.add("update_mask", "must name at least one attribute", "REQUIRED");
  const fields: F[] = [];
  for (const path of paths) {
    const name = path.startsWith("attributes.") ? path.slice("attributes.".length) : path;
    const snake = name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    if ((allowed as readonly string[]).includes(snake)) fields.push(snake as F);
    else v.add("update_mask", `path "${path}" cannot be changed here`, "UNKNOWN_FIELD");
  }
  return [...new Set(fields)];
}

function parseUserPatch(req: UpdateUserRequest | UpdateCurrentUserRequest, allowed: readonly UpdatableUserField[], v: Violations) {
  versionAtLeast(v, req.expectedRowVersion, true);
  const fields = maskFields(req.updateMask?.paths ?? [], allowed, v);
  const patch = userAttributesFromProto(req.attributes ?? create(UserAttributesSchema), v);
  return { expectedRowVersion: req.expectedRowVersion, patch, fields };
}

function parseCreateUser(req: CreateUserRequest) {
  const v = new Violations();
  v.required("attributes", req.attributes !== undefined);
  const attributes = userAttributesFromProto(req.attributes, v);
  v.maxLength("initial_password", req.initialPassword, MAX_PASSWORD_INPUT);
  roleList(v, req.roles);
  check(v);
  return { attributes, initialPassword: req.initialPassword === "" ? null : req.initialPassword, roles: req.roles };
}

function parseCreateStaff(req: CreateStaffProfileRequest) {
  const v = new Violations().uuid("user_id", req.userId);
  v.required("attributes", req.attributes !== undefined);
  const attributes = staffAttributesFromProto(req.attributes, v, { requireType: req.attributes !== undefined });
  check(v);
  return { userId: req.userId, attributes };
}

function parseUpdateStaff(req: UpdateStaffProfileRequest) {
  const v = new Violations().uuid("staff_profile_id", req.staffProfileId);
  versionAtLeast(v, req.expectedRowVersion, true);
  const fields = maskFields<UpdatableStaffField>(req.updateMask?.paths ?? [], UPDATABLE_STAFF_FIELDS, v);
  const raw = req.attributes ?? create(StaffProfileAttributesSchema);
  const patch = staffAttributesFromProto(raw, v, { requireType: fields.includes("staff_type") });
  check(v);
  return { id: req.staffProfileId, expectedRowVersion: req.expectedRowVersion, patch, fields };
}

const PAGE = "fleetmesh.common.v1.PageResponse" as const;
const page = (nextPageToken: string) => ({ $typeName: PAGE, nextPageToken });

/** The IdentityService RPCs: proto in, use case, proto out. */
export function identityServiceBinding(useCases: IdentityUseCases): ServiceBinding {
  const { auth, external, users, staff, clients } = useCases;
  return bindService(IdentityService, {
    // ---- authentication ----

    async login(req, ctx) {
      refuseIdempotencyKey(ctx);
      const v = new Violations();
      requiredText(v, "email", req.email, 320);
      requiredText(v, "password", req.password, MAX_PASSWORD_INPUT);
      check(v);
      const { tokens, user } = await auth.login({ email: req.email, password: req.password });
      return { $typeName: "fleetmesh.identity.v1.LoginResponse", tokens: tokenSetToProto(tokens), user: userToProto(user) };
    },

    async refreshToken(req, ctx) {
      refuseIdempotencyKey(ctx);
      check(requiredText(new Violations(), "refresh_token", req.refreshToken, MAX_TOKEN_INPUT));
      const tokens = await auth.refresh({ refreshToken: req.refreshToken });
      return { $typeName: "fleetmesh.identity.v1.RefreshTokenResponse", tokens: tokenSetToProto(tokens) };
    },

    async issueClientCredentialsToken(req, ctx) {
      refuseIdempotencyKey(ctx);
      const v = new Violations();
      requiredText(v, "client_id", req.clientId, MAX_CLIENT_ID_INPUT);
      requiredText(v, "client_secret", req.clientSecret, MAX_TOKEN_INPUT);
      check(v);
      const token = await auth.issueClientCredentialsToken({ clientId: req.clientId, clientSecret: req.clientSecret });
      return {
        $typeName: "fleetmesh.identity.v1.IssueClientCredentialsTokenResponse",
        accessToken: token.accessToken,
        tokenType: "Bearer",
        expireTime: timestampFromDate(token.expiresAt),
      };
    },

    async exchangeExternalToken(req, ctx) {
      refuseIdempotencyKey(ctx);
      const v = new Violations();
      requiredText(v, "subject_token", req.subjectToken, MAX_SUBJECT_TOKEN_INPUT);
      if (req.subjectTokenType === "") v.add("subject_token_type", "is required", "REQUIRED");
      else if (!(SUBJECT_TOKEN_TYPES as readonly string[]).includes(req.subjectTokenType)) {
        v.add("subject_token_type", `must be one of ${SUBJECT_TOKEN_TYPES.join(", ")}`, "UNSUPPORTED_VALUE");
      }
      check(v);
      const result = await external.exchangeExternalToken({ subjectToken: req.subjectToken });
      // An audit line; never the subject token, nor the tokens issued.
      ctx.log.info({ issuer: result.issuer, userId: result.user.id, created: result.created, rolesGranted: result.rolesGranted },
        "delegated login");
      return {
        $typeName: "fleetmesh.identity.v1.ExchangeExternalTokenResponse",
        tokens: tokenSetToProto(result.tokens),
        user: userToProto(result.user),
      };
    },

    async logout(req, ctx) {
      const v = new Violations();
      if (!req.allSessions) requiredText(v, "refresh_token", req.refreshToken, MAX_TOKEN_INPUT);
      check(v);
      await auth.logout(ctx.caller, { refreshToken: req.refreshToken, allSessions: req.allSessions });
      return { $typeName: "fleetmesh.identity.v1.LogoutResponse" };
    },

    // ---- the caller's own user ----

    async getCurrentUser(_req, ctx) {
      const { user, permissions, staffProfile } = await users.getCurrentUser(ctx.caller);
      return {
        $typeName: "fleetmesh.identity.v1.GetCurrentUserResponse",
        user: userToProto(user),
        permissions,
        staffProfile: staffProfile ? staffProfileToProto(staffProfile) : undefined,
      };
    },

    async updateCurrentUser(req, ctx) {
      const v = new Violations();
      const input = parseUserPatch(req, SELF_UPDATABLE_FIELDS, v);
      check(v);
      const user = await users.updateCurrentUser(ctx.caller, input);
      return { $typeName: "fleetmesh.identity.v1.UpdateCurrentUserResponse", user: userToProto(user) };
    },

    async changeOwnPassword(req, ctx) {
      refuseIdempotencyKey(ctx);
      const v = new Violations();
      requiredText(v, "current_password", req.currentPassword, MAX_PASSWORD_INPUT);
      requiredText(v, "new_password", req.newPassword, MAX_PASSWORD_INPUT);
      check(v);
      const tokens = await auth.changeOwnPassword(ctx.caller, { currentPassword: req.currentPassword, newPassword: req.newPassword });
      return { $typeName: "fleetmesh.identity.v1.ChangeOwnPasswordResponse", tokens: tokenSetToProto(tokens) };
    },

    // ---- users ----

    async createUser(req, ctx) {
      const user = await users.createUser(ctx.caller, parseCreateUser(req));
      return { $typeName: "fleetmesh.identity.v1.CreateUserResponse", user: userToProto(user) };
    },

    async updateUser(req, ctx) {
      const v = new Violations().uuid("user_id", req.userId);
      const input = parseUserPatch(req, UPDATABLE_USER_FIELDS, v);
      check(v);
      const user = await users.updateUser(ctx.caller, { id: req.userId, ...input });
      return { $typeName: "fleetmesh.identity.v1.UpdateUserResponse", user: userToProto(user) };
    },

    async disableUser(req, ctx) {
      const v = new Violations().uuid("user_id", req.userId);
      versionAtLeast(v, req.expectedRowVersion, false);
      requiredText(v, "reason", req.reason.trim(), MAX_DISABLE_REASON);
      check(v);
      const user = await users.disableUser(ctx.caller, { id: req.userId, expectedRowVersion: req.expectedRowVersion, reason: req.reason });
      return { $typeName: "fleetmesh.identity.v1.DisableUserResponse", user: userToProto(user) };
    },

    async enableUser(req, ctx) {
      const v = new Violations().uuid("user_id", req.userId);
      versionAtLeast(v, req.expectedRowVersion, false);
      check(v);
      const user = await users.enableUser(ctx.caller, { id: req.userId, expectedRowVersion: req.expectedRowVersion });
      return { $typeName: "fleetmesh.identity.v1.EnableUserResponse", user: userToProto(user) };
    },

    async resetUserPassword(req, ctx) {
      const v = new Violations().uuid("user_id", req.userId);
      requiredText(v, "new_password", req.newPassword, MAX_PASSWORD_INPUT);
      check(v);
      const user = await users.resetUserPassword(ctx.caller, { id: req.userId, newPassword: req.newPassword });
      return { $typeName: "fleetmesh.identity.v1.ResetUserPasswordResponse", user: userToProto(user) };
    },

    async getUser(req, ctx) {
      check(new Violations().uuid("user_id", req.userId));
      const { user, staffProfile } = await users.getUser(ctx.caller, req.userId);
      return {
        $typeName: "fleetmesh.identity.v1.GetUserResponse",
        user: userToProto(user),
        staffProfile: staffProfile ? staffProfileToProto(staffProfile) : undefined,
      };
    },

    async listUsers(req) {
      const v = new Violations();
      const status = userStatusFromProto(req.status);
      if (status === undefined) v.add("status", "unknown user status", "UNKNOWN_ENUM_VALUE");
      if (req.role !== "") roleName(v, "role", req.role);
      v.maxLength("query", req.query, MAX_QUERY);
      const p = pageOf(req.page, v);
      check(v);
      const result = await users.listUsers({
        status: status ?? null,
        role: req.role === "" ? null : req.role,
        query: req.query.trim() === "" ? null : req.query.trim(),
        ...p,
      });
      return { $typeName: "fleetmesh.identity.v1.ListUsersResponse", users: result.items.map(userToProto), page: page(result.nextPageToken) };
    },

    // ---- roles ----

    async assignRole(req, ctx) {
      const v = new Violations().uuid("user_id", req.userId);
      versionAtLeast(v, req.expectedRowVersion, false);
      roleName(v, "role", req.role);
      check(v);
      const user = await users.assignRole(ctx.caller, { userId: req.userId, expectedRowVersion: req.expectedRowVersion, role: req.role });
      return { $typeName: "fleetmesh.identity.v1.AssignRoleResponse", user: userToProto(user) };
    },

    async revokeRole(req, ctx) {
      const v = new Violations().uuid("user_id", req.userId);
      versionAtLeast(v, req.expectedRowVersion, false);
      roleName(v, "role", req.role);
      check(v);
      const user = await users.revokeRole(ctx.caller, { userId: req.userId, expectedRowVersion: req.expectedRowVersion, role: req.role });
      return { $typeName: "fleetmesh.identity.v1.RevokeRoleResponse", user: userToProto(user) };
    },

    async listRoles(req) {
      const v = new Violations();
      const p = pageOf(req.page, v);
      check(v);
      const result = await users.listRoles(p);
      return { $typeName: "fleetmesh.identity.v1.ListRolesResponse", roles: result.items.map(roleToProto), page: page(result.nextPageToken) };
    },

    // ---- staff profiles ----

    async createStaffProfile(req, ctx) {
      const profile = await staff.createStaffProfile(ctx.caller, parseCreateStaff(req));
      return { $typeName: "fleetmesh.identity.v1.CreateStaffProfileResponse", staffProfile: staffProfileToProto(profile) };
    },

    async updateStaffProfile(req, ctx) {
      const profile = await staff.updateStaffProfile(ctx.caller, parseUpdateStaff(req));
      return { $typeName: "fleetmesh.identity.v1.UpdateStaffProfileResponse", staffProfile: staffProfileToProto(profile) };
    },

    async getStaffProfile(req, ctx) {
      const v = new Violations();
      if (req.key.case === "staffProfileId") v.uuid("staff_profile_id", req.key.value);
      else if (req.key.case === "userId") v.uuid("user_id", req.key.value);
      else v.add("staff_profile_id", "one of staff_profile_id or user_id is required", "REQUIRED");
      check(v);
      const key = req.key.case === "userId" ? { userId: req.key.value } : { staffProfileId: req.key.value! };
      const profile = await staff.getStaffProfile(ctx.caller, key);
      return { $typeName: "fleetmesh.identity.v1.GetStaffProfileResponse", staffProfile: staffProfileToProto(profile) };
    },

    async listStaffProfiles(req) {
      const v = new Violations();
      const staffType = staffTypeFromProto(req.staffType);
      if (staffType === undefined) v.add("staff_type", "unknown staff type", "UNKNOWN_ENUM_VALUE");
      const p = pageOf(req.page, v);
      check(v);
      const result = await staff.listStaffProfiles({ staffType: staffType ?? null, ...p });
      return {
        $typeName: "fleetmesh.identity.v1.ListStaffProfilesResponse",
        staffProfiles: result.items.map(staffProfileToProto),
        page: page(result.nextPageToken),
      };
    },

    async getOwnStaffProfile(_req, ctx) {
      const profile = await staff.getOwnStaffProfile(ctx.caller);
      return { $typeName: "fleetmesh.identity.v1.GetOwnStaffProfileResponse", staffProfile: staffProfileToProto(profile) };
    },

    // ---- service clients ----

    async createServiceClient(req, ctx) {
      refuseIdempotencyKey(ctx);
      const v = new Violations();
      v.maxLength("name", req.name, 200).maxLength("description", req.description, 2000);
      roleList(v, req.roles);
      check(v);
      const { client, secret } = await clients.createServiceClient(ctx.caller, { name: req.name, description: req.description, roles: req.roles });
      return {
        $typeName: "fleetmesh.identity.v1.CreateServiceClientResponse",
        serviceClient: serviceClientToProto(client),
        clientSecret: secret,
      };
    },

    async getServiceClient(req) {
      check(new Violations().uuid("service_client_id", req.serviceClientId));
      const client = await clients.getServiceClient(req.serviceClientId);
      return { $typeName: "fleetmesh.identity.v1.GetServiceClientResponse", serviceClient: serviceClientToProto(client) };
    },

    async listServiceClients(req) {
      const v = new Violations();
      const p = pageOf(req.page, v);
      check(v);
      const result = await clients.listServiceClients({ includeRevoked: req.includeRevoked, ...p });
      return {
        $typeName: "fleetmesh.identity.v1.ListServiceClientsResponse",
        serviceClients: result.items.map(serviceClientToProto),
        page: page(result.nextPageToken),
      };
    },

    async revokeServiceClient(req) {
      const v = new Violations().uuid("service_client_id", req.serviceClientId).maxLength("reason", req.reason, MAX_REVOKE_REASON);
      check(v);
      const client = await clients.revokeServiceClient({ id: req.serviceClientId, reason: req.reason });
      return { $typeName: "fleetmesh.identity.v1.RevokeServiceClientResponse", serviceClient: serviceClientToProto(client) };
    },
  });
}
