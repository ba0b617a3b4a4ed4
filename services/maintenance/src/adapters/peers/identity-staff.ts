import { IdentityService } from "../../../../../gen/fleetmesh/identity/v1/identity_service_pb.js";
import { StaffType } from "../../../../../gen/fleetmesh/identity/v1/staff_profile_pb.js";
import { DomainError } from "../../../../platform/src/errors.js";
import type { PeerClient } from "../../../../platform/src/peers/peer-client.js";
import type { StaffDirectory } from "../../app/ports.js";
import { userNotFound } from "../../domain/errors.js";

const TYPES: Readonly<Record<number, string>> = {
  [StaffType.DRIVER]: "driver", [StaffType.CONDUCTOR]: "conductor", [StaffType.MECHANIC]: "mechanic",
  [StaffType.ADMIN]: "admin", [StaffType.SYSTEM]: "system",
};

/** Identity read as maintenance itself: is this user a mechanic? */
export function identityStaff(identity: PeerClient<typeof IdentityService>): StaffDirectory {
  return {
    async staffType(userId) {
      try {
        const { staffProfile } = await identity.getUser({ userId }, { as: "service" });
        return staffProfile?.attributes ? (TYPES[staffProfile.attributes.staffType] ?? "other") : null;
      } catch (err) {
        if (err instanceof DomainError && err.kind === "not_found") throw userNotFound(userId);
        throw err;
      }
    },
  };
}
