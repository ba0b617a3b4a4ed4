import { create, type MessageShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { MoneySchema } from "../../../../../gen/fleetmesh/common/v1/money_pb.js";
import {
  OdometerReadingSchema,
  VehicleAttributesSchema,
  VehicleSchema,
  VehicleStatus as ProtoStatus,
} from "../../../../../gen/fleetmesh/fleet/v1/vehicle_pb.js";
import type { Money, OdometerReading, Vehicle, VehicleStatus } from "../../domain/vehicle.js";

// Domain -> contract messages, shared by the gRPC handlers and the event outbox.

export const STATUS_TO_PROTO: Readonly<Record<VehicleStatus, ProtoStatus>> = {
  active: ProtoStatus.ACTIVE,
  rented: ProtoStatus.RENTED,
  under_maintenance: ProtoStatus.UNDER_MAINTENANCE,
  decommissioned: ProtoStatus.DECOMMISSIONED,
};

/** Null for UNSPECIFIED, undefined for a value this build does not know. */
export const statusFromProto = (value: ProtoStatus): VehicleStatus | null | undefined => {
  if (value === ProtoStatus.UNSPECIFIED) return null;
  const found = (Object.entries(STATUS_TO_PROTO) as Array<[VehicleStatus, ProtoStatus]>).find(([, p]) => p === value);
  return found?.[0];
};

export const moneyToProto = (m: Money | null) =>
  m === null ? undefined : ({ amountMinor: m.amountMinor, currencyCode: m.currency } satisfies Partial<MessageShape<typeof MoneySchema>>);

export function vehicleToProto(v: Vehicle): MessageShape<typeof VehicleSchema> {
  return create(VehicleSchema, {
    id: v.id,
    plateNumber: v.plateNumber,
    attributes: create(VehicleAttributesSchema, {
      make: v.attributes.make,
      model: v.attributes.model,
      ...(v.attributes.variant === null ? {} : { variant: v.attributes.variant }),
      ...(v.attributes.year === null ? {} : { year: v.attributes.year }),
      ...(v.attributes.passengerCapacity === null ? {} : { passengerCapacity: v.attributes.passengerCapacity }),
      ...(v.attributes.loadLimitKg === null ? {} : { loadLimitKg: v.attributes.loadLimitKg }),
      ...(v.attributes.acquisitionPrice === null ? {} : { acquisitionPrice: moneyToProto(v.attributes.acquisitionPrice) }),
    }),
    status: STATUS_TO_PROTO[v.status],
    ...(v.odometerKm === null ? {} : { odometerKm: v.odometerKm }),
    rowVersion: v.rowVersion,
    createTime: timestampFromDate(v.createdAt),
    updateTime: timestampFromDate(v.updatedAt),
    createdBy: v.createdBy ?? "",
    updatedBy: v.updatedBy ?? "",
  });
}

export const readingToProto = (r: OdometerReading) =>
  create(OdometerReadingSchema, {
    id: r.id,
    vehicleId: r.vehicleId,
    readingKm: r.readingKm,
    recordTime: timestampFromDate(r.recordedAt),
    recordedBy: r.recordedBy ?? "",
  });
