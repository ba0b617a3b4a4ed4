// proto <-> domain conversion of the identity service. Nothing here holds a
// password, a hash or a secret: the messages built here carry none, except
// the token sets and the one-time client secret the handlers add explicitly.
import { create, type MessageShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  ServiceClientSchema,
  ServiceClientStatus as ProtoClientStatus,
} from "../../../../../gen/fleetmesh/identity/v1/service_client_pb.js";
import {
  StaffProfileAttributesSchema,
  StaffProfileSchema,
  StaffType as ProtoStaffType,
  type StaffProfileAttributes as ProtoStaffAttributes,
} from "../../../../../gen/fleetmesh/identity/v1/staff_profile_pb.js";
import {
  RoleSchema,
  TokenSetSchema,
  UserAttributesSchema,
  UserSchema,
  UserStatus as ProtoUserStatus,
  type UserAttributes as ProtoUserAttributes,
} from "../../../../../gen/fleetmesh/identity/v1/user_pb.js";
import type { Violations } from "../../../../platform/src/validation.js";
import type { Role } from "../../app/ports.js";
import type { TokenSet } from "../../app/sessions.js";
import type { ServiceClient, ServiceClientStatus } from "../../domain/service-client.js";
import { MAX_LICENSE_NUMBER, type StaffProfile, type StaffProfileAttributes, type StaffType } from "../../domain/staff-profile.js";
import { MAX_DISPLAY_NAME, MAX_EMAIL, type User, type UserAttributes, type UserStatus } from "../../domain/user.js";

const ts = (d: Date | null) => (d === null ? undefined : timestampFromDate(d));

// ---- enums ----

const USER_STATUS: Readonly<Record<UserStatus, ProtoUserStatus>> = {
  active: ProtoUserStatus.ACTIVE,
  disabled: ProtoUserStatus.DISABLED,
};

const STAFF_TYPE: Readonly<Record<StaffType, ProtoStaffType>> = {
  driver: ProtoStaffType.DRIVER,
  conductor: ProtoStaffType.CONDUCTOR,
  mechanic: ProtoStaffType.MECHANIC,
  admin: ProtoStaffType.ADMIN,
  system: ProtoStaffType.SYSTEM,
};

const CLIENT_STATUS: Readonly<Record<ServiceClientStatus, ProtoClientStatus>> = {
  active: ProtoClientStatus.ACTIVE,
  revoked: ProtoClientStatus.REVOKED,
};

/** UNSPECIFIED is null; an unknown number is undefined (a violation). */
function fromProtoEnum<D extends string, P extends number>(table: Readonly<Record<D, P>>, value: P): D | null | undefined {
  if (value === 0) return null;
  return (Object.entries(table) as Array<[D, P]>).find(([, p]) => p === value)?.[0];
}

export const userStatusFromProto = (v: ProtoUserStatus) => fromProtoEnum(USER_STATUS, v);
export const staffTypeFromProto = (v: ProtoStaffType) => fromProtoEnum(STAFF_TYPE, v);

// ---- domain to proto ----

export function userToProto(u: User): MessageShape<typeof UserSchema> {
  return create(UserSchema, {
    id: u.id,
    attributes: create(UserAttributesSchema, {
      email: u.attributes.email,
      displayName: u.attributes.displayName,
      ...(u.attributes.phoneNumber === null ? {} : { phoneNumber: u.attributes.phoneNumber }),
    }),
    status: USER_STATUS[u.status],
    roles: [...u.roles],
    hasPassword: u.hasPassword,
    lastLoginTime: ts(u.lastLoginTime),
    disableTime: ts(u.disableTime),
    disableReason: u.disableReason ?? "",
    rowVersion: u.rowVersion,
    createTime: ts(u.createdAt),
    updateTime: ts(u.updatedAt),
    createdBy: u.createdBy ?? "",
    updatedBy: u.updatedBy ?? "",
  });
}

export function staffProfileToProto(p: StaffProfile): MessageShape<typeof StaffProfileSchema> {
  return create(StaffProfileSchema, {
    id: p.id,
    userId: p.userId,
    attributes: create(StaffProfileAttributesSchema, {
      staffType: STAFF_TYPE[p.attributes.staffType],
      ...(p.attributes.dailyRate === null
        ? {}
        : { dailyRate: { amountMinor: p.attributes.dailyRate.amountMinor, currencyCode: p.attributes.dailyRate.currency } }),
      ...(p.attributes.licenseNumber === null ? {} : { licenseNumber: p.attributes.licenseNumber }),
    }),
    displayName: p.displayName,
    rowVersion: p.rowVersion,
    createTime: ts(p.createdAt),
    updateTime: ts(p.updatedAt),
    createdBy: p.createdBy ?? "",
    updatedBy: p.updatedBy ?? "",
  });
}

export const roleToProto = (r: Role) =>
  create(RoleSchema, { id: r.id, name: r.name, description: r.description, permissions: [...r.permissions] });

export function serviceClientToProto(c: ServiceClient): MessageShape<typeof ServiceClientSchema> {
  return create(ServiceClientSchema, {
    id: c.id,
    clientId: c.clientId,
    name: c.name,
    description: c.description,
    roles: [...c.roles],
    status: CLIENT_STATUS[c.status],
    secretHint: c.secretHint,
    lastUseTime: ts(c.lastUseTime),
    revokeTime: ts(c.revokeTime),
    createTime: ts(c.createdAt),
    createdBy: c.createdBy ?? "",
  });
}

export const tokenSetToProto = (t: TokenSet) =>
  create(TokenSetSchema, {
    accessToken: t.accessToken,
    tokenType: "Bearer",
    accessTokenExpireTime: timestampFromDate(t.accessTokenExpiresAt),
    refreshToken: t.refreshToken,
    refreshTokenExpireTime: timestampFromDate(t.refreshTokenExpiresAt),
  });

// ---- proto to domain (transport limits here; domain rules in the domain) ----

/** Converts user attributes; records violations the domain cannot see (transport limits). */
export function userAttributesFromProto(a: ProtoUserAttributes | undefined, v: Violations, prefix = "attributes"): UserAttributes {
  const email = a?.email ?? "";
  const displayName = a?.displayName ?? "";
  v.maxLength(`${prefix}.email`, email, MAX_EMAIL + 50).maxLength(`${prefix}.display_name`, displayName, MAX_DISPLAY_NAME + 50);
  if (a?.phoneNumber !== undefined) v.maxLength(`${prefix}.phone_number`, a.phoneNumber, 32);
  return { email, displayName, phoneNumber: a?.phoneNumber ?? null };
}

export function staffAttributesFromProto(
  a: ProtoStaffAttributes | undefined,
  v: Violations,
  options: { requireType: boolean },
  prefix = "attributes",
): StaffProfileAttributes {
  const staffType = staffTypeFromProto(a?.staffType ?? ProtoStaffType.UNSPECIFIED);
  if (staffType === undefined) v.add(`${prefix}.staff_type`, "unknown staff type", "UNKNOWN_ENUM_VALUE");
  else if (staffType === null && options.requireType) v.add(`${prefix}.staff_type`, "is required", "REQUIRED");
  if (a?.licenseNumber !== undefined) v.maxLength(`${prefix}.license_number`, a.licenseNumber, MAX_LICENSE_NUMBER * 4);
  const rate = a?.dailyRate;
  const license = a?.licenseNumber?.trim();
  return {
    staffType: staffType ?? "driver",
    dailyRate: rate === undefined ? null : { amountMinor: rate.amountMinor, currency: rate.currencyCode },
    licenseNumber: license === undefined || license === "" ? null : license,
  };
}
