import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  StaffProfileChangedSchema,
  UserDisabledSchema,
  UserEnabledSchema,
  UserRegisteredSchema,
  UserRolesChangedSchema,
  UserUpdatedSchema,
} from "../../../../../gen/fleetmesh/identity/v1/events_pb.js";
import type { Database } from "../../../../platform/src/db.js";
import { appendToOutbox, outboxMessage, type OutboxMessage } from "../../../../platform/src/events/outbox.js";
import type { Outbox } from "../../app/ports.js";
import type { IdentityEvent } from "../../domain/events.js";
import { staffProfileToProto, userToProto } from "../proto/identity-proto.js";

/**
 * The contract message of an identity domain event
 * (proto/fleetmesh/identity/v1/events.proto). The key is always the user id:
 * staff profile changes are ordered with the user's other events.
 */
export function toEventMessage(event: IdentityEvent): OutboxMessage {
  switch (event.type) {
    case "UserRegistered":
      return outboxMessage(UserRegisteredSchema, create(UserRegisteredSchema, { user: userToProto(event.user) }), event.user.id);
    case "UserUpdated":
      return outboxMessage(UserUpdatedSchema, create(UserUpdatedSchema, {
        user: userToProto(event.user),
        changedFields: [...event.changedFields],
      }), event.user.id);
    case "UserDisabled":
      return outboxMessage(UserDisabledSchema, create(UserDisabledSchema, {
        userId: event.user.id,
        reason: event.user.disableReason ?? "",
        // The domain sets both together (users_disabled_has_time); the fallback only satisfies the type.
        disableTime: timestampFromDate(event.user.disableTime ?? event.user.updatedAt),
        rowVersion: event.user.rowVersion,
      }), event.user.id);
    case "UserEnabled":
      return outboxMessage(UserEnabledSchema, create(UserEnabledSchema, {
        userId: event.user.id,
        enableTime: timestampFromDate(event.user.updatedAt),
        rowVersion: event.user.rowVersion,
      }), event.user.id);
    case "UserRolesChanged":
      return outboxMessage(UserRolesChangedSchema, create(UserRolesChangedSchema, {
        userId: event.user.id,
        previousRoles: [...event.previousRoles].sort(),
        roles: [...event.user.roles].sort(),
        changeTime: timestampFromDate(event.user.updatedAt),
        rowVersion: event.user.rowVersion,
      }), event.user.id);
    case "StaffProfileChanged":
      return outboxMessage(StaffProfileChangedSchema, create(StaffProfileChangedSchema, {
        staffProfile: staffProfileToProto(event.profile),
        created: event.created,
        changedFields: [...event.changedFields],
      }), event.profile.userId);
  }
}

/** Identity's outbox on its own database: the row joins the use case's transaction. */
export const createEventOutbox = (db: Database): Outbox => ({
  async append(event) {
    await appendToOutbox(db.executor(), toEventMessage(event));
  },
});
