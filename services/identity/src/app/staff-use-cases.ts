import type { Caller } from "../../../platform/src/auth.js";
import { invalidArgument } from "../../../platform/src/errors.js";
import { decodePageToken, pageSize, toPage } from "../../../platform/src/paging.js";
import { requireReadableStaffProfile } from "../domain/access.js";
import {
  applyStaffPatch,
  changedStaffFields,
  staffProfileNotFound,
  validateStaffAttributes,
  type StaffProfile,
  type StaffProfileAttributes,
  type StaffType,
  type UpdatableStaffField,
} from "../domain/staff-profile.js";
import { staleRowVersion, userNotFound } from "../domain/user.js";
import { actorIdOf, selfId, type IdentityDependencies, type Page, type PageInput } from "./dependencies.js";

/** Staff profiles: a user has at most one; a staff member sees only their own without staff.read. */
export function createStaffUseCases(deps: IdentityDependencies) {
  const { users, staff, uow, clock, ids, outbox } = deps;

  const validate = (attributes: StaffProfileAttributes): void => {
    const violations = validateStaffAttributes(attributes);
    if (violations.length > 0) throw invalidArgument(violations);
  };

  return {
    async createStaffProfile(caller: Caller, input: { userId: string; attributes: StaffProfileAttributes }): Promise<StaffProfile> {
      validate(input.attributes);
      return uow.run(async () => {
        // Locked: StaffProfileChanged belongs to the user's event stream, and
        // one user's events take outbox sequences in commit order only when
        // every writer locks the user row first.
        const user = await users.findByIdForUpdate(input.userId);
        if (!user) throw userNotFound(input.userId);
        const now = clock.now();
        const profile: StaffProfile = {
          id: ids.newId(),
          userId: user.id,
          attributes: input.attributes,
          displayName: user.attributes.displayName,
          rowVersion: 1n,
          createdAt: now,
          updatedAt: now,
          createdBy: actorIdOf(caller),
          updatedBy: actorIdOf(caller),
        };
        await staff.insert(profile);
        await outbox.append({ type: "StaffProfileChanged", profile, created: true, changedFields: [] });
        return profile;
      });
    },

    async updateStaffProfile(
      caller: Caller,
      input: { id: string; expectedRowVersion: bigint; patch: StaffProfileAttributes; fields: readonly UpdatableStaffField[] },
    ): Promise<StaffProfile> {
      return uow.run(async () => {
        // The user row first, then the profile, as createStaffProfile does
        // (see there); a profile never changes user, so the unlocked read
        // only finds which user to lock.
        const found = await staff.findById(input.id);
        if (!found) throw staffProfileNotFound(input.id);
        await users.findByIdForUpdate(found.userId);
        const profile = await staff.findByIdForUpdate(input.id);
        if (!profile) throw staffProfileNotFound(input.id);
        if (input.expectedRowVersion !== profile.rowVersion) {
          throw staleRowVersion("staff_profile", profile.id, input.expectedRowVersion, profile.rowVersion);
        }
        const attributes = applyStaffPatch(profile.attributes, input.patch, input.fields);
        validate(attributes);
        const next: StaffProfile = {
          ...profile,
          attributes,
          rowVersion: profile.rowVersion + 1n,
          updatedAt: clock.now(),
          updatedBy: actorIdOf(caller),
        };
        if (!(await staff.update(next, profile.rowVersion))) {
          throw staleRowVersion("staff_profile", profile.id, profile.rowVersion, -1n);
        }
        await outbox.append({ type: "StaffProfileChanged", profile: next, created: false, changedFields: changedStaffFields(profile.attributes, attributes) });
        return next;
      });
    },

    async getStaffProfile(caller: Caller, key: { staffProfileId: string } | { userId: string }): Promise<StaffProfile> {
      const profile = "userId" in key ? await staff.findByUserId(key.userId) : await staff.findById(key.staffProfileId);
      if (!profile) throw staffProfileNotFound("userId" in key ? `of user ${key.userId}` : key.staffProfileId);
      requireReadableStaffProfile(caller, profile);
      return profile;
    },

    /** Only ever the caller's own profile. */
    async getOwnStaffProfile(caller: Caller): Promise<StaffProfile> {
      const profile = await staff.findByUserId(selfId(caller));
      if (!profile) throw staffProfileNotFound(`of user ${caller.subject}`);
      return profile;
    },

    async listStaffProfiles(input: { staffType: StaffType | null } & PageInput): Promise<Page<StaffProfile>> {
      const query = JSON.stringify(["staff", input.staffType]);
      const after = decodePageToken(input.pageToken, query, 2);
      const limit = pageSize(input.pageSize);
      const rows = await staff.list({ staffType: input.staffType }, limit + 1, after);
      return toPage(rows, limit, query, (p) => [p.displayName, p.id]);
    },
  };
}

export type StaffUseCases = ReturnType<typeof createStaffUseCases>;
