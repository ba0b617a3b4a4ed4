import { invalidArgument } from "../../../platform/src/errors.js";
import {
  applyAttributePatch,
  assertEditable,
  assertOdometerAdvances,
  assertTransition,
  normalizePlate,
  staleRowVersion,
  validateAttributes,
  validatePlate,
  vehicleNotFound,
  type OdometerReading,
  type UpdatableAttribute,
  type Vehicle,
  type VehicleAttributes,
  type VehicleStatus,
} from "../domain/vehicle.js";
import { decodePageToken, encodePageToken, pageSize } from "./paging.js";
import type { Actor, Clock, IdGenerator, UnitOfWork, VehicleRepository } from "./ports.js";

export interface FleetDependencies {
  readonly vehicles: VehicleRepository;
  readonly uow: UnitOfWork;
  readonly clock: Clock;
  readonly ids: IdGenerator;
}

export interface Page<T> {
  readonly items: readonly T[];
  readonly nextPageToken: string;
}

export type FleetUseCases = ReturnType<typeof createFleetUseCases>;

export function createFleetUseCases({ vehicles, uow, clock, ids }: FleetDependencies) {
  const loadForUpdate = async (id: string): Promise<Vehicle> => {
    const vehicle = await vehicles.findByIdForUpdate(id);
    if (!vehicle) throw vehicleNotFound(id);
    return vehicle;
  };

  const checkVersion = (vehicle: Vehicle, expected: bigint): void => {
    if (expected !== 0n && expected !== vehicle.rowVersion) throw staleRowVersion(vehicle.id, expected, vehicle.rowVersion);
  };

  const save = async (next: Vehicle, previous: Vehicle): Promise<Vehicle> => {
    if (!(await vehicles.update(next, previous.rowVersion))) {
      const current = await vehicles.findById(previous.id);
      throw staleRowVersion(previous.id, previous.rowVersion, current?.rowVersion ?? -1n);
    }
    return next;
  };

  const touched = (vehicle: Vehicle, actor: Actor, changes: Partial<Vehicle>): Vehicle => ({
    ...vehicle,
    ...changes,
    rowVersion: vehicle.rowVersion + 1n,
    updatedAt: clock.now(),
    updatedBy: actor.userId,
  });

  return {
    async registerVehicle(input: { plateNumber: string; attributes: VehicleAttributes }, actor: Actor): Promise<Vehicle> {
      const now = clock.now();
      const plateNumber = normalizePlate(input.plateNumber);
      const violations = [...validatePlate(plateNumber), ...validateAttributes(input.attributes, now)];
      if (violations.length > 0) throw invalidArgument(violations);
      const vehicle: Vehicle = {
        id: ids.newId(),
        plateNumber,
        attributes: input.attributes,
        status: "active",
        odometerKm: null,
        rowVersion: 1n,
        createdAt: now,
        updatedAt: now,
        createdBy: actor.userId,
        updatedBy: actor.userId,
      };
      await uow.run(() => vehicles.insert(vehicle));
      return vehicle;
    },

    async updateVehicle(
      input: { id: string; expectedRowVersion: bigint; patch: VehicleAttributes; fields: readonly UpdatableAttribute[] },
      actor: Actor,
    ): Promise<Vehicle> {
      return uow.run(async () => {
        const vehicle = await loadForUpdate(input.id);
        assertEditable(vehicle);
        checkVersion(vehicle, input.expectedRowVersion);
        const attributes = applyAttributePatch(vehicle.attributes, input.patch, input.fields);
        const violations = validateAttributes(attributes, clock.now());
        if (violations.length > 0) throw invalidArgument(violations);
        return save(touched(vehicle, actor, { attributes }), vehicle);
      });
    },

    async getVehicle(id: string): Promise<Vehicle> {
      const vehicle = await vehicles.findById(id);
      if (!vehicle) throw vehicleNotFound(id);
      return vehicle;
    },

    async listVehicles(input: { status: VehicleStatus | null; pageSize: number; pageToken: string }): Promise<Page<Vehicle>> {
      const query = `status=${input.status ?? "*"}`;
      const after = decodePageToken(input.pageToken, query);
      const limit = pageSize(input.pageSize);
      const rows = await vehicles.list({ status: input.status }, limit + 1, after);
      const items = rows.slice(0, limit);
      const last = items.at(-1);
      return {
        items,
        nextPageToken: rows.length > limit && last ? encodePageToken({ createdAt: last.createdAt, id: last.id }, query) : "",
      };
    },

    async changeStatus(
      input: { id: string; expectedRowVersion: bigint; target: VehicleStatus },
      actor: Actor,
    ): Promise<{ vehicle: Vehicle; previous: VehicleStatus }> {
      if (input.target === "decommissioned") {
        throw invalidArgument([{ field: "target_status", description: "use DecommissionVehicle to decommission", reason: "UNSUPPORTED_VALUE" }]);
      }
      return uow.run(async () => {
        const vehicle = await loadForUpdate(input.id);
        checkVersion(vehicle, input.expectedRowVersion);
        assertTransition(vehicle, input.target);
        return { vehicle: await save(touched(vehicle, actor, { status: input.target }), vehicle), previous: vehicle.status };
      });
    },

    async decommission(input: { id: string; expectedRowVersion: bigint }, actor: Actor): Promise<Vehicle> {
      return uow.run(async () => {
        const vehicle = await loadForUpdate(input.id);
        checkVersion(vehicle, input.expectedRowVersion);
        assertTransition(vehicle, "decommissioned");
        return save(touched(vehicle, actor, { status: "decommissioned" }), vehicle);
      });
    },

    /**
     * The vehicle row lock serialises concurrent readers of "latest", so two
     * racing writers cannot both pass the monotonicity check.
     */
    async recordOdometer(
      input: { vehicleId: string; readingKm: number; recordedAt: Date | null },
      actor: Actor,
    ): Promise<{ reading: OdometerReading; vehicle: Vehicle }> {
      const now = clock.now();
      const recordedAt = input.recordedAt ?? now;
      if (recordedAt.getTime() > now.getTime() + 60_000) {
        throw invalidArgument([{ field: "record_time", description: "must not be in the future", reason: "OUT_OF_RANGE" }]);
      }
      return uow.run(async () => {
        const vehicle = await loadForUpdate(input.vehicleId);
        assertEditable(vehicle);
        assertOdometerAdvances(await vehicles.latestReading(vehicle.id), input.readingKm, recordedAt);
        const reading: OdometerReading = {
          id: ids.newId(),
          vehicleId: vehicle.id,
          readingKm: input.readingKm,
          recordedAt,
          recordedBy: actor.userId,
        };
        await vehicles.insertReading(reading);
        return { reading, vehicle: await save(touched(vehicle, actor, { odometerKm: input.readingKm }), vehicle) };
      });
    },

    async listReadings(input: { vehicleId: string; pageSize: number; pageToken: string }): Promise<Page<OdometerReading>> {
      const query = `vehicle=${input.vehicleId}`;
      const after = decodePageToken(input.pageToken, query);
      if (!(await vehicles.findById(input.vehicleId))) throw vehicleNotFound(input.vehicleId);
      const limit = pageSize(input.pageSize);
      const rows = await vehicles.listReadings(input.vehicleId, limit + 1, after);
      const items = rows.slice(0, limit);
      const last = items.at(-1);
      return {
        items,
        nextPageToken: rows.length > limit && last ? encodePageToken({ createdAt: last.recordedAt, id: last.id }, query) : "",
      };
    },
  };
}

