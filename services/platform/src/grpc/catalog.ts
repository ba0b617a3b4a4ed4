import type { DescFile, DescService } from "@bufbuild/protobuf";
import { file_fleetmesh_fleet_v1_fleet_service } from "../../../../gen/fleetmesh/fleet/v1/fleet_service_pb.js";
import { file_fleetmesh_identity_v1_identity_service } from "../../../../gen/fleetmesh/identity/v1/identity_service_pb.js";
import { file_fleetmesh_ledger_v1_ledger_service } from "../../../../gen/fleetmesh/ledger/v1/ledger_service_pb.js";
import { file_fleetmesh_ledger_v1_reporting_service } from "../../../../gen/fleetmesh/ledger/v1/reporting_service_pb.js";
import { file_fleetmesh_maintenance_v1_maintenance_service } from "../../../../gen/fleetmesh/maintenance/v1/maintenance_service_pb.js";
import { file_fleetmesh_rental_v1_rental_service } from "../../../../gen/fleetmesh/rental/v1/rental_service_pb.js";

/**
 * Every gRPC service file of the contracts in proto/ (a test fails when one
 * is missing), so configuration can name a service by its full name and the
 * gateway can route it without code of its own.
 */
export const SERVICE_FILES: readonly DescFile[] = [
  file_fleetmesh_fleet_v1_fleet_service,
  file_fleetmesh_identity_v1_identity_service,
  file_fleetmesh_rental_v1_rental_service,
  file_fleetmesh_maintenance_v1_maintenance_service,
  file_fleetmesh_ledger_v1_ledger_service,
  file_fleetmesh_ledger_v1_reporting_service,
];

const byName = new Map<string, DescService>(SERVICE_FILES.flatMap((f) => f.services.map((s) => [s.typeName, s] as const)));

/** The descriptor of a Fleet mesh gRPC service by its full name, e.g. "fleetmesh.fleet.v1.FleetService". */
export const serviceDescriptor = (typeName: string): DescService | undefined => byName.get(typeName);
