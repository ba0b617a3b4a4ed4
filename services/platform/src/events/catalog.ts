import { createRegistry, type DescMessage, type Registry } from "@bufbuild/protobuf";
import { file_fleetmesh_fleet_v1_events } from "../../../../gen/fleetmesh/fleet/v1/events_pb.js";
import { file_fleetmesh_identity_v1_events } from "../../../../gen/fleetmesh/identity/v1/events_pb.js";
import { file_fleetmesh_ledger_v1_events } from "../../../../gen/fleetmesh/ledger/v1/events_pb.js";
import { file_fleetmesh_maintenance_v1_events } from "../../../../gen/fleetmesh/maintenance/v1/events_pb.js";
import { file_fleetmesh_rental_v1_events } from "../../../../gen/fleetmesh/rental/v1/events_pb.js";

/**
 * Every event message of the contracts in proto/, by fully-qualified name.
 * A consumer tells "a type this build has never heard of" (a newer producer)
 * from "a known type this consumer does not handle", and the operator
 * commands render payloads as JSON.
 */
export const EVENT_FILES = [
  file_fleetmesh_fleet_v1_events,
  file_fleetmesh_rental_v1_events,
  file_fleetmesh_maintenance_v1_events,
  file_fleetmesh_identity_v1_events,
  file_fleetmesh_ledger_v1_events,
] as const;

export const eventRegistry: Registry = createRegistry(...EVENT_FILES);

export const eventSchemaOf = (typeName: string): DescMessage | undefined => eventRegistry.getMessage(typeName);
