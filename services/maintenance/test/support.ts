// Maintenance against the real mesh: rental (the vehicle timeline), identity
// (mechanics, the service credentials) and fleet, each on a fresh database.
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { FleetService } from "../../../gen/fleetmesh/fleet/v1/fleet_service_pb.js";
import { IdentityService } from "../../../gen/fleetmesh/identity/v1/identity_service_pb.js";
import { StaffType } from "../../../gen/fleetmesh/identity/v1/staff_profile_pb.js";
import { MaintenanceService } from "../../../gen/fleetmesh/maintenance/v1/maintenance_service_pb.js";
import { LocationType } from "../../../gen/fleetmesh/rental/v1/location_pb.js";
import { RentalService } from "../../../gen/fleetmesh/rental/v1/rental_service_pb.js";
import { startMesh, type Mesh, type MeshOptions } from "../../../gateway/test/mesh.js";
import { catalogPermissionsOf, PERMISSIONS } from "../../identity/src/domain/role-catalog.js";
import { createServiceClient, type ServiceClient } from "../../platform/src/grpc/client.js";

export const ADMIN_SUBJECT = "00000000-0000-4000-8000-0000000000aa";
export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

export interface MaintenanceWorld {
  readonly mesh: Mesh;
  readonly maintenance: ServiceClient<typeof MaintenanceService>;
  readonly rental: ServiceClient<typeof RentalService>;
  readonly fleet: ServiceClient<typeof FleetService>;
  readonly identity: ServiceClient<typeof IdentityService>;
  readonly admin: { headers: Record<string, string> };
  asRole(subject: string, role: string): { headers: Record<string, string> };
  newVehicle(attributes?: { make?: string; model?: string; passengerCapacity?: number; loadLimitKg?: number }): Promise<string>;
  newMechanic(): Promise<string>;
  newCustomer(): Promise<string>;
  newLocation(): Promise<string>;
  newPlan(): Promise<string>;
  stop(): Promise<void>;
}

let counter = 0;
const unique = (): string => `${process.pid}-${Date.now().toString(36)}-${++counter}`;

export async function startMaintenanceWorld(options: MeshOptions = {}): Promise<MaintenanceWorld> {
  const mesh = await startMesh("test-keys", options);
  const client = <S extends Parameters<typeof createServiceClient>[0]>(service: S, address: string) =>
    createServiceClient(service, { address, deadlineMs: 15_000 });
  const maintenance = client(MaintenanceService, mesh.maintenanceAddress);
  const rental = client(RentalService, mesh.rentalAddress);
  const fleet = client(FleetService, mesh.fleetAddress);
  const identity = client(IdentityService, mesh.identityAddress);
  const as = (subject: string, permissions: readonly string[], extra: Record<string, unknown> = {}) => ({
    headers: { authorization: `Bearer ${mesh.keys.token({ sub: subject, permissions, ...extra }, { expiresIn: 3600 })}` },
  });
  const admin = as(ADMIN_SUBJECT, PERMISSIONS);
  return {
    mesh, maintenance, rental, fleet, identity, admin,
    asRole: (subject, role) => as(subject, catalogPermissionsOf([role]), { roles: [role] }),
    async newVehicle(attributes = {}) {
      const { vehicle } = await fleet.registerVehicle({
        plateNumber: `M-${(++counter).toString(36)}${Date.now().toString(36).slice(-4)}`.toUpperCase(),
        attributes: {
          make: attributes.make ?? "Iveco", model: attributes.model ?? "Daily",
          passengerCapacity: attributes.passengerCapacity ?? 3, loadLimitKg: attributes.loadLimitKg ?? 1_500,
        },
      }, admin);
      return vehicle!.id;
    },
    async newMechanic() {
      const { user } = await identity.createUser({ attributes: { email: `mechanic-${unique()}@example.test`, displayName: "Mechanic" }, roles: ["mechanic"] }, admin);
      await identity.createStaffProfile({ userId: user!.id, attributes: { staffType: StaffType.MECHANIC } }, admin);
      return user!.id;
    },
    async newCustomer() {
      const { user } = await identity.createUser({ attributes: { email: `customer-${unique()}@example.test`, displayName: "Customer" }, roles: ["customer"] }, admin);
      return user!.id;
    },
    async newLocation() {
      const { location } = await rental.createLocation({ attributes: { name: `Depot ${unique()}`, type: LocationType.DEPOT, timeZone: "Europe/Berlin" } }, admin);
      return location!.id;
    },
    async newPlan() {
      const { pricingPlan } = await rental.createPricingPlan({ name: `Plan ${unique()}`, rates: { currencyCode: "EUR", dailyRate: { amountMinor: 9_900n, currencyCode: "EUR" } } }, admin);
      return pricingPlan!.id;
    },
    async stop() {
      for (const c of [maintenance, rental, fleet, identity]) c.close();
      await mesh.stop();
    },
  };
}

/** A half-open period `startInHours` from `base` lasting `hours`, as the contract's Period. */
export const periodAt = (base: number, startInHours: number, hours: number) => ({
  startTime: timestampFromDate(new Date(base + startInHours * HOUR)),
  endTime: timestampFromDate(new Date(base + (startInHours + hours) * HOUR)),
});

export const futureBase = (days = 2): number => Math.ceil((Date.now() + days * DAY) / HOUR) * HOUR;

export { rejectsWith, violatedFields } from "../../platform/src/testing/assertions.js";
