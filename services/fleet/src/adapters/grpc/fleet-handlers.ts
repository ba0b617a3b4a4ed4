import { create } from "@bufbuild/protobuf";
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import {
  FleetService,
  type RegisterVehicleRequest,
  type UpdateVehicleRequest,
} from "../../../../../gen/fleetmesh/fleet/v1/fleet_service_pb.js";
import { VehicleAttributesSchema, type VehicleAttributes as ProtoAttributes } from "../../../../../gen/fleetmesh/fleet/v1/vehicle_pb.js";
import { actorOf } from "../../../../platform/src/actor.js";
import type { RequestContext } from "../../../../platform/src/context.js";
import { invalidArgument } from "../../../../platform/src/errors.js";
import { bindService, type ServiceBinding } from "../../../../platform/src/grpc/server.js";
import { Violations } from "../../../../platform/src/validation.js";
import type { FleetUseCases } from "../../app/fleet-use-cases.js";
import type { Actor } from "../../app/ports.js";
import {
  MAX_ODOMETER_KM,
  UPDATABLE_ATTRIBUTES,
  type UpdatableAttribute,
  type VehicleAttributes,
  type VehicleStatus,
} from "../../domain/vehicle.js";
import { readingToProto, statusFromProto, vehicleToProto } from "../proto/vehicle-proto.js";

export { vehicleToProto };

const MAX_PLATE_INPUT = 40;
const MAX_TEXT_INPUT = 120;
const MAX_REASON = 500;

const actorOfCall = (ctx: RequestContext): Actor => actorOf(ctx.caller);

const tsOrNull = (t: Timestamp | undefined): Date | null => (t === undefined ? null : timestampDate(t));

/** Converts proto attributes; records violations that the domain cannot see (transport limits). */
function attributesFromProto(a: ProtoAttributes | undefined, v: Violations, prefix = "attributes"): VehicleAttributes {
  const make = a?.make ?? "";
  const model = a?.model ?? "";
  v.maxLength(`${prefix}.make`, make, MAX_TEXT_INPUT).maxLength(`${prefix}.model`, model, MAX_TEXT_INPUT);
  if (a?.variant !== undefined) v.maxLength(`${prefix}.variant`, a.variant, MAX_TEXT_INPUT);
  const price = a?.acquisitionPrice;
  return {
    make: make.trim(),
    model: model.trim(),
    variant: a?.variant === undefined || a.variant.trim() === "" ? null : a.variant.trim(),
    year: a?.year ?? null,
    passengerCapacity: a?.passengerCapacity ?? null,
    loadLimitKg: a?.loadLimitKg ?? null,
    acquisitionPrice: price === undefined ? null : { amountMinor: price.amountMinor, currency: price.currencyCode },
  };
}

const pageOf = (page: { pageSize: number; pageToken: string } | undefined, v: Violations) => {
  const size = page?.pageSize ?? 0;
  if (size < 0) v.add("page.page_size", "must not be negative", "OUT_OF_RANGE");
  const token = page?.pageToken ?? "";
  v.maxLength("page.page_token", token, 512);
  return { pageSize: size, pageToken: token };
};

const check = (v: Violations): void => {
  if (!v.empty) throw invalidArgument(v.list);
};

function parseRegister(req: RegisterVehicleRequest) {
  const v = new Violations();
  v.maxLength("plate_number", req.plateNumber, MAX_PLATE_INPUT);
  v.required("attributes", req.attributes !== undefined);
  const attributes = attributesFromProto(req.attributes, v);
  check(v);
  return { plateNumber: req.plateNumber, attributes };
}

function parseUpdate(req: UpdateVehicleRequest) {
  const v = new Violations().uuid("vehicle_id", req.vehicleId);
  if (req.expectedRowVersion <= 0n) v.add("expected_row_version", "is required: pass the row_version you last read", "REQUIRED");
  const paths = req.updateMask?.paths ?? [];
  if (paths.length === 0) v.add("update_mask", "must name at least one attribute", "REQUIRED");
  const fields: UpdatableAttribute[] = [];
  for (const path of paths) {
    const name = path.startsWith("attributes.") ? path.slice("attributes.".length) : path;
    // Clients may send JSON names (camelCase) through Connect.
    const snake = name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    if ((UPDATABLE_ATTRIBUTES as readonly string[]).includes(snake)) fields.push(snake as UpdatableAttribute);
    else v.add("update_mask", `unknown attribute path "${path}"`, "UNKNOWN_FIELD");
  }
  const patch = attributesFromProto(req.attributes ?? create(VehicleAttributesSchema), v);
  check(v);
  return { id: req.vehicleId, expectedRowVersion: req.expectedRowVersion, patch, fields };
}

/** The FleetService RPCs: proto in, domain use case, proto out. */
export function fleetServiceBinding(useCases: FleetUseCases): ServiceBinding {
  return bindService(FleetService, {
    async registerVehicle(req, ctx) {
      const vehicle = await useCases.registerVehicle(parseRegister(req), actorOfCall(ctx));
      return { $typeName: "fleetmesh.fleet.v1.RegisterVehicleResponse", vehicle: vehicleToProto(vehicle) };
    },

    async updateVehicle(req, ctx) {
      const vehicle = await useCases.updateVehicle(parseUpdate(req), actorOfCall(ctx));
      return { $typeName: "fleetmesh.fleet.v1.UpdateVehicleResponse", vehicle: vehicleToProto(vehicle) };
    },

    async getVehicle(req) {
      check(new Violations().uuid("vehicle_id", req.vehicleId));
      return { $typeName: "fleetmesh.fleet.v1.GetVehicleResponse", vehicle: vehicleToProto(await useCases.getVehicle(req.vehicleId)) };
    },

    async listVehicles(req) {
      const v = new Violations();
      const status = statusFromProto(req.status);
      if (status === undefined) v.add("status", "unknown vehicle status", "UNKNOWN_ENUM_VALUE");
      const page = pageOf(req.page, v);
      check(v);
      const result = await useCases.listVehicles({ status: status ?? null, ...page });
      return {
        $typeName: "fleetmesh.fleet.v1.ListVehiclesResponse",
        vehicles: result.items.map(vehicleToProto),
        page: { $typeName: "fleetmesh.common.v1.PageResponse", nextPageToken: result.nextPageToken },
      };
    },

    async changeVehicleStatus(req, ctx) {
      const v = new Violations().uuid("vehicle_id", req.vehicleId).maxLength("reason", req.reason, MAX_REASON);
      if (req.expectedRowVersion < 0n) v.add("expected_row_version", "must not be negative", "OUT_OF_RANGE");
      const target = statusFromProto(req.targetStatus);
      if (target === null) v.add("target_status", "is required", "REQUIRED");
      else if (target === undefined) v.add("target_status", "unknown vehicle status", "UNKNOWN_ENUM_VALUE");
      check(v);
      const { vehicle } = await useCases.changeStatus(
        { id: req.vehicleId, expectedRowVersion: req.expectedRowVersion, target: target as VehicleStatus, reason: req.reason },
        actorOfCall(ctx),
      );
      return { $typeName: "fleetmesh.fleet.v1.ChangeVehicleStatusResponse", vehicle: vehicleToProto(vehicle) };
    },

    async decommissionVehicle(req, ctx) {
      const v = new Violations().uuid("vehicle_id", req.vehicleId).maxLength("reason", req.reason, MAX_REASON);
      if (req.expectedRowVersion < 0n) v.add("expected_row_version", "must not be negative", "OUT_OF_RANGE");
      check(v);
      const vehicle = await useCases.decommission({ id: req.vehicleId, expectedRowVersion: req.expectedRowVersion, reason: req.reason }, actorOfCall(ctx));
      return { $typeName: "fleetmesh.fleet.v1.DecommissionVehicleResponse", vehicle: vehicleToProto(vehicle) };
    },

    async recordOdometerReading(req, ctx) {
      const v = new Violations().uuid("vehicle_id", req.vehicleId).intRange("reading_km", req.readingKm, 0, MAX_ODOMETER_KM);
      check(v);
      const { reading, vehicle } = await useCases.recordOdometer(
        { vehicleId: req.vehicleId, readingKm: req.readingKm, recordedAt: tsOrNull(req.recordTime) },
        actorOfCall(ctx),
      );
      return {
        $typeName: "fleetmesh.fleet.v1.RecordOdometerReadingResponse",
        reading: readingToProto(reading),
        vehicle: vehicleToProto(vehicle),
      };
    },

    async listOdometerReadings(req) {
      const v = new Violations().uuid("vehicle_id", req.vehicleId);
      const page = pageOf(req.page, v);
      check(v);
      const result = await useCases.listReadings({ vehicleId: req.vehicleId, ...page });
      return {
        $typeName: "fleetmesh.fleet.v1.ListOdometerReadingsResponse",
        readings: result.items.map(readingToProto),
        page: { $typeName: "fleetmesh.common.v1.PageResponse", nextPageToken: result.nextPageToken },
      };
    },
  });
}
