import type { StaffProfile, UpdatableStaffField } from "./staff-profile.js";
import type { UpdatableUserField, User } from "./user.js";

/**
 * Identity's domain events, as the domain sees them. Adapters turn them into
 * the fleetmesh.identity.v1 event messages of the contract
 * (proto/fleetmesh/identity/v1/events.proto). Every one belongs to the user
 * aggregate, staff profile changes included, so a user's events stay in
 * order. User carries no password hash, so no event can leak one.
 */
export type IdentityEvent =
  | { readonly type: "UserRegistered"; readonly user: User }
  | { readonly type: "UserUpdated"; readonly user: User; readonly changedFields: readonly UpdatableUserField[] }
  /** `user` as saved: status disabled, with its disable time and reason. */
  | { readonly type: "UserDisabled"; readonly user: User }
  /** `user` as saved: enabled at its update time. */
  | { readonly type: "UserEnabled"; readonly user: User }
  | { readonly type: "UserRolesChanged"; readonly user: User; readonly previousRoles: readonly string[] }
  | {
    readonly type: "StaffProfileChanged";
    readonly profile: StaffProfile;
    readonly created: boolean;
    /** Empty when created. */
    readonly changedFields: readonly UpdatableStaffField[];
  };
