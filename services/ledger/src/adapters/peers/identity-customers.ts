import { IdentityService } from "../../../../../gen/fleetmesh/identity/v1/identity_service_pb.js";
import { DomainError } from "../../../../platform/src/errors.js";
import type { PeerClient } from "../../../../platform/src/peers/peer-client.js";
import type { CustomerDirectory } from "../../app/billing-ports.js";

/**
 * Identity read with the ledger's own credential: does the customer exist?
 * NOT_FOUND is false; identity not answering is UNAVAILABLE,
 * DEPENDENCY_UNAVAILABLE (the kit's peer client maps it), retried by clients.
 */
export function identityCustomers(identity: PeerClient<typeof IdentityService>): CustomerDirectory {
  return {
    async exists(userId) {
      try {
        const { user } = await identity.getUser({ userId }, { as: "service" });
        return user !== undefined;
      } catch (err) {
        if (err instanceof DomainError && err.kind === "not_found") return false;
        throw err;
      }
    },
  };
}
