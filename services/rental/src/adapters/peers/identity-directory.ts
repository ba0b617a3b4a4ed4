import { IdentityService } from "../../../../../gen/fleetmesh/identity/v1/identity_service_pb.js";
import { StaffType } from "../../../../../gen/fleetmesh/identity/v1/staff_profile_pb.js";
import { UserStatus } from "../../../../../gen/fleetmesh/identity/v1/user_pb.js";
import { DomainError } from "../../../../platform/src/errors.js";
import type { PeerClient } from "../../../../platform/src/peers/peer-client.js";
import type { PersonDirectory } from "../../app/ports.js";

type Person = Awaited<ReturnType<PersonDirectory["user"]>>;
type Staff = Awaited<ReturnType<PersonDirectory["staffProfile"]>>;

const STAFF_TYPES: Readonly<Record<number, NonNullable<Staff>["staffType"]>> = {
  [StaffType.DRIVER]: "driver",
  [StaffType.CONDUCTOR]: "conductor",
  [StaffType.MECHANIC]: "mechanic",
  [StaffType.ADMIN]: "admin",
  [StaffType.SYSTEM]: "system",
};

const isNotFound = (err: unknown): boolean => err instanceof DomainError && err.kind === "not_found";

/**
 * Identity read with rental's own credential (a check of rental's invariants
 * that a customer's token could not make), cached for `ttlMs`: reserving
 * re-checks the same customers and staff all day, and a profile change
 * reaching rental a minute late is harmless. Unknown users are not cached.
 */
export function identityDirectory(identity: PeerClient<typeof IdentityService>, ttlMs: number, now: () => number = Date.now): PersonDirectory {
  const cache = new Map<string, { readonly until: number; readonly person: Person; readonly staff: Staff }>();
  const lookUp = async (userId: string) => {
    const hit = cache.get(userId);
    if (hit !== undefined && hit.until > now()) return hit;
    try {
      const { user, staffProfile } = await identity.getUser({ userId }, { as: "service" });
      const entry = {
        until: now() + ttlMs,
        person: user ? { id: user.id, active: user.status === UserStatus.ACTIVE, roles: user.roles } : null,
        staff: staffProfile?.attributes
          ? {
            staffType: STAFF_TYPES[staffProfile.attributes.staffType] ?? "other",
            dailyRate: staffProfile.attributes.dailyRate
              ? { amountMinor: staffProfile.attributes.dailyRate.amountMinor, currency: staffProfile.attributes.dailyRate.currencyCode }
              : null,
          }
          : null,
      };
      if (cache.size > 10_000) cache.clear();
      cache.set(userId, entry);
      return entry;
    } catch (err) {
      if (isNotFound(err)) return { until: 0, person: null, staff: null };
      throw err;
    }
  };
  return {
    user: async (userId) => (await lookUp(userId)).person,
    staffProfile: async (userId) => (await lookUp(userId)).staff,
  };
}
