// Rental against the real mesh: identity (customers, staff profiles, rental's
// service credential), fleet (vehicles) and rental itself, each on a fresh
// PostgreSQL database, called over gRPC on port 0.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { MoneySchema } from "../../../gen/fleetmesh/common/v1/money_pb.js";
import { FleetService } from "../../../gen/fleetmesh/fleet/v1/fleet_service_pb.js";
import { IdentityService } from "../../../gen/fleetmesh/identity/v1/identity_service_pb.js";
import { StaffType } from "../../../gen/fleetmesh/identity/v1/staff_profile_pb.js";
import { LocationType } from "../../../gen/fleetmesh/rental/v1/location_pb.js";
import { PricingPlanRatesSchema } from "../../../gen/fleetmesh/rental/v1/pricing_plan_pb.js";
import { RentalService } from "../../../gen/fleetmesh/rental/v1/rental_service_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { startMesh, type Mesh, type MeshOptions } from "../../../gateway/test/mesh.js";
import { PERMISSIONS } from "../../identity/src/domain/role-catalog.js";
import { createServiceClient, type ServiceClient } from "../../platform/src/grpc/client.js";

export const ADMIN_SUBJECT = "00000000-0000-4000-8000-0000000000aa";

export interface RentalWorld {
  readonly mesh: Mesh;
  readonly rental: ServiceClient<typeof RentalService>;
  readonly fleet: ServiceClient<typeof FleetService>;
  readonly identity: ServiceClient<typeof IdentityService>;
  /** Call options with a token holding every permission (an administrator). */
  readonly admin: { headers: Record<string, string> };
  /** Call options for `subject` holding `permissions`. */
  as(subject: string, permissions: readonly string[], extra?: Record<string, unknown>): { headers: Record<string, string> };
  /** Call options for a role of the catalog (its permissions). */
  asRole(subject: string, role: string): { headers: Record<string, string> };
  newCustomer(): Promise<string>;
  newStaff(type: "driver" | "conductor", dailyRateMinor?: bigint, currency?: string): Promise<string>;
  newVehicle(attributes?: { passengerCapacity?: number; loadLimitKg?: number }): Promise<string>;
  newLocation(timeZone?: string): Promise<string>;
  newPlan(rates?: Record<string, unknown>): Promise<string>;
  /** Loads rental's copy of the fleet (the operator command). */
  refreshVehicles(): Promise<void>;
  stop(): Promise<void>;
}

let counter = 0;
const unique = (): string => `${process.pid}-${Date.now().toString(36)}-${++counter}`;

export async function startRentalWorld(options: MeshOptions = {}): Promise<RentalWorld> {
  const mesh = await startMesh("test-keys", options);
  const rental = createServiceClient(RentalService, { address: mesh.rentalAddress, deadlineMs: 15_000 });
  const fleet = createServiceClient(FleetService, { address: mesh.fleetAddress, deadlineMs: 15_000 });
  const identity = createServiceClient(IdentityService, { address: mesh.identityAddress, deadlineMs: 15_000 });
  const as = (subject: string, permissions: readonly string[], extra: Record<string, unknown> = {}) => ({
    headers: { authorization: `Bearer ${mesh.keys.token({ sub: subject, permissions, ...extra }, { expiresIn: 3600 })}` },
  });
  const { catalogPermissionsOf } = await import("../../identity/src/domain/role-catalog.js");
  const admin = as(ADMIN_SUBJECT, PERMISSIONS);
  return {
    mesh, rental, fleet, identity, admin, as,
    asRole: (subject, role) => as(subject, catalogPermissionsOf([role]), { roles: [role] }),
    async newCustomer() {
      const { user } = await identity.createUser({
        attributes: { email: `customer-${unique()}@example.test`, displayName: "Test Customer" }, roles: ["customer"],
      }, admin);
      return user!.id;
    },
    async newStaff(type, dailyRateMinor = 9_000n, currency = "EUR") {
      const { user } = await identity.createUser({ attributes: { email: `${type}-${unique()}@example.test`, displayName: `Test ${type}` }, roles: [type] }, admin);
      await identity.createStaffProfile({
        userId: user!.id,
        attributes: { staffType: type === "driver" ? StaffType.DRIVER : StaffType.CONDUCTOR, dailyRate: { amountMinor: dailyRateMinor, currencyCode: currency } },
      }, admin);
      return user!.id;
    },
    async newVehicle(attributes = {}) {
      const { vehicle } = await fleet.registerVehicle({
        plateNumber: `R-${(++counter).toString(36)}${Date.now().toString(36).slice(-4)}`.toUpperCase(),
        attributes: { make: "Toyota", model: "Hiace", passengerCapacity: attributes.passengerCapacity ?? 9, loadLimitKg: attributes.loadLimitKg ?? 800 },
      }, admin);
      return vehicle!.id;
    },
    async newLocation(timeZone = "Europe/Berlin") {
      const { location } = await rental.createLocation({ attributes: { name: `Depot ${unique()}`, type: LocationType.DEPOT, timeZone } }, admin);
      return location!.id;
    },
    async newPlan(rates = {}) {
      const full = {
        currencyCode: "EUR",
        dailyRate: create(MoneySchema, { amountMinor: 4_900n, currencyCode: "EUR" }),
        perKmRate: create(MoneySchema, { amountMinor: 25n, currencyCode: "EUR" }),
        includedKmPerDay: 200,
        ...rates,
      } as MessageInitShape<typeof PricingPlanRatesSchema>;
      const { pricingPlan } = await rental.createPricingPlan({ name: `Plan ${unique()}`, rates: full }, admin);
      return pricingPlan!.id;
    },
    async refreshVehicles() {
      await rental.refreshVehicleProjection({}, admin);
    },
    async stop() {
      rental.close();
      fleet.close();
      identity.close();
      await mesh.stop();
    },
  };
}

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

/** A half-open period `startInHours` from `base` lasting `hours`. */
export const periodAt = (base: number, startInHours: number, hours: number) => ({
  startTime: timestampFromDate(new Date(base + startInHours * HOUR)),
  endTime: timestampFromDate(new Date(base + (startInHours + hours) * HOUR)),
});

/** The next whole hour at least `days` days from now. */
export const futureBase = (days = 2): number => Math.ceil((Date.now() + days * DAY) / HOUR) * HOUR;

export { rejectsWith, violatedFields } from "../../platform/src/testing/assertions.js";
