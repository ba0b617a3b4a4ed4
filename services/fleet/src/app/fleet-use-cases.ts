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
  changedAttributes,
  decideAcquire,
  decideRelease,
  MAX_ODOMETER_KM,
  statusOfHold,
  type OdometerReading,
  type UpdatableAttribute,
  type Vehicle,
  type VehicleAttributes,
  type VehicleHold,
  type VehicleStatus,
} from "../domain/vehicle.js";
import { decodeTimeIdToken, pageSize, toTimeIdPage, type Page } from "../../../platform/src/paging.js";
import type { Actor, Clock, IdGenerator, Outbox, UnitOfWork, VehicleRepository } from "./ports.js";
import { SYSTEM_ACTOR } from "../../../platform/src/actor.js";

export interface FleetDependencies {
  readonly vehicles: VehicleRepository;
  readonly uow: UnitOfWork;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly outbox: Outbox;
}

/** An event-driven status change: which rental or job, when, and the odometer it reported. */
export interface HoldChange {
  readonly vehicleId: string;
  readonly hold: VehicleHold;
  /** When it happened (pickup, return, start, completion time). */
  readonly at: Date;
  readonly odometerKm: number | null;
  /** Goes into VehicleStateChanged.reason, e.g. "rental activated". */
  readonly reason: string;
}

export interface HoldChangeResult {
  /** False when the vehicle was already in the state the event asks for. */
  readonly changed: boolean;
  /** Why a reported odometer value was not recorded, if it was not. */
  readonly odometerSkipped: string | null;
}

const SYSTEM: Actor = SYSTEM_ACTOR;

const causeRefOf = (hold: VehicleHold): string => (hold.kind === "rental" ? `rentals/${hold.id}` : `maintenance_jobs/${hold.id}`);

export type { Page };

export type FleetUseCases = ReturnType<typeof createFleetUseCases>;

export function createFleetUseCases({ vehicles, uow, clock, ids, outbox }: FleetDependencies) {
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

  /** A hold cleared by a status change by hand has ended: its own release event later changes nothing. */
  const endHoldByHand = async (vehicle: Vehicle): Promise<void> => {
    if (vehicle.hold) await vehicles.recordHoldEnded(vehicle.id, vehicle.hold, clock.now(), "by_hand");
  };

  /**
   * Event-driven transitions. A reported odometer value is recorded with the
   * change when it moves forward; one that does not (or is out of range) is
   * left out rather than holding up the status change, and reported back.
   */
  const applyHoldChange = (change: HoldChange, direction: "take" | "release"): Promise<HoldChangeResult> =>
    uow.run(async () => {
      const vehicle = await loadForUpdate(change.vehicleId);
      const record = await vehicles.holdRecord(vehicle.id, change.hold);
      const decision = direction === "take" ? decideAcquire(vehicle, change.hold, record) : decideRelease(vehicle, change.hold, record);
      if (decision === "already_done") return { changed: false, odometerSkipped: null };
      let reading: OdometerReading | null = null;
      let odometerSkipped: string | null = null;
      if (change.odometerKm !== null) {
        const latest = await vehicles.latestReading(vehicle.id);
        if (!Number.isInteger(change.odometerKm) || change.odometerKm < 0 || change.odometerKm > MAX_ODOMETER_KM) {
          odometerSkipped = `reading ${change.odometerKm} km is out of range`;
        } else if (change.at.getTime() > clock.now().getTime() + 60_000) {
          odometerSkipped = "reading is recorded in the future";
        } else if (latest && (change.odometerKm < latest.readingKm || change.at.getTime() < latest.recordedAt.getTime())) {
          odometerSkipped = `reading ${change.odometerKm} km at ${change.at.toISOString()} is behind the latest ${latest.readingKm} km`;
        } else {
          reading = { id: ids.newId(), vehicleId: vehicle.id, readingKm: change.odometerKm, recordedAt: change.at, recordedBy: null };
        }
      }
      const status = direction === "take" ? statusOfHold(change.hold) : "active";
      const saved = await save(touched(vehicle, SYSTEM, {
        status,
        hold: direction === "take" ? change.hold : null,
        ...(reading ? { odometerKm: reading.readingKm } : {}),
      }), vehicle);
      if (direction === "take") await vehicles.recordHoldTaken(vehicle.id, change.hold, change.at);
      else await vehicles.recordHoldEnded(vehicle.id, change.hold, change.at, "event");
      await outbox.append({
        type: "VehicleStateChanged",
        vehicle: saved,
        previousStatus: vehicle.status,
        reason: change.reason,
        causeRef: causeRefOf(change.hold),
      });
      if (reading) {
        await vehicles.insertReading(reading);
        await outbox.append({ type: "OdometerReadingRecorded", reading });
      }
      return { changed: true, odometerSkipped };
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
        hold: null,
        odometerKm: null,
        rowVersion: 1n,
        createdAt: now,
        updatedAt: now,
        createdBy: actor.userId,
        updatedBy: actor.userId,
      };
      await uow.run(async () => {
        await vehicles.insert(vehicle);
        await outbox.append({ type: "VehicleRegistered", vehicle });
      });
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
        const saved = await save(touched(vehicle, actor, { attributes }), vehicle);
        await outbox.append({ type: "VehicleUpdated", vehicle: saved, changedFields: changedAttributes(vehicle.attributes, attributes) });
        return saved;
      });
    },

    async getVehicle(id: string): Promise<Vehicle> {
      const vehicle = await vehicles.findById(id);
      if (!vehicle) throw vehicleNotFound(id);
      return vehicle;
    },

    async listVehicles(input: { status: VehicleStatus | null; pageSize: number; pageToken: string }): Promise<Page<Vehicle>> {
      const query = `status=${input.status ?? "*"}`;
      const after = decodeTimeIdToken(input.pageToken, query);
      const limit = pageSize(input.pageSize);
      const rows = await vehicles.list({ status: input.status }, limit + 1, after);
      return toTimeIdPage(rows, limit, query, (v) => ({ at: v.createdAt, id: v.id }));
    },

    async changeStatus(
      input: { id: string; expectedRowVersion: bigint; target: VehicleStatus; reason?: string },
      actor: Actor,
    ): Promise<{ vehicle: Vehicle; previous: VehicleStatus }> {
      if (input.target === "decommissioned") {
        throw invalidArgument([{ field: "target_status", description: "use DecommissionVehicle to decommission", reason: "UNSUPPORTED_VALUE" }]);
      }
      return uow.run(async () => {
        const vehicle = await loadForUpdate(input.id);
        checkVersion(vehicle, input.expectedRowVersion);
        assertTransition(vehicle, input.target);
        // A status set by hand is no longer held by a rental or job.
        const saved = await save(touched(vehicle, actor, { status: input.target, hold: null }), vehicle);
        await endHoldByHand(vehicle);
        await outbox.append({ type: "VehicleStateChanged", vehicle: saved, previousStatus: vehicle.status, reason: input.reason ?? "", causeRef: "" });
        return { vehicle: saved, previous: vehicle.status };
      });
    },

    async decommission(input: { id: string; expectedRowVersion: bigint; reason?: string }, actor: Actor): Promise<Vehicle> {
      return uow.run(async () => {
        const vehicle = await loadForUpdate(input.id);
        checkVersion(vehicle, input.expectedRowVersion);
        assertTransition(vehicle, "decommissioned");
        const saved = await save(touched(vehicle, actor, { status: "decommissioned", hold: null }), vehicle);
        await endHoldByHand(vehicle);
        await outbox.append({ type: "VehicleStateChanged", vehicle: saved, previousStatus: vehicle.status, reason: input.reason ?? "", causeRef: "" });
        return saved;
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
        const saved = await save(touched(vehicle, actor, { odometerKm: input.readingKm }), vehicle);
        await outbox.append({ type: "OdometerReadingRecorded", reading });
        return { reading, vehicle: saved };
      });
    },

    /** A rental or maintenance job takes the vehicle (RentalActivated, MaintenanceStarted). */
    takeVehicle(change: HoldChange): Promise<HoldChangeResult> {
      return applyHoldChange(change, "take");
    },

    /** A rental or maintenance job gives the vehicle back (RentalCompleted/Cancelled, MaintenanceCompleted/Cancelled). */
    releaseVehicle(change: HoldChange): Promise<HoldChangeResult> {
      return applyHoldChange(change, "release");
    },

    async listReadings(input: { vehicleId: string; pageSize: number; pageToken: string }): Promise<Page<OdometerReading>> {
      const query = `vehicle=${input.vehicleId}`;
      const after = decodeTimeIdToken(input.pageToken, query);
      if (!(await vehicles.findById(input.vehicleId))) throw vehicleNotFound(input.vehicleId);
      const limit = pageSize(input.pageSize);
      const rows = await vehicles.listReadings(input.vehicleId, limit + 1, after);
      return toTimeIdPage(rows, limit, query, (r) => ({ at: r.recordedAt, id: r.id }));
    },
  };
}

