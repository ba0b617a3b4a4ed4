// The I/O rental's use cases depend on, each behind a port.
import type { TimeIdCursor } from "../../../platform/src/paging.js";
import type { Money } from "../../../platform/src/money.js";
import type {
  Location,
  LocationType,
  Period,
  PricingPlan,
  Quote,
  Rental,
  RentalCharge,
  RentalPayment,
  RentalStatus,
  TimelineClaim,
  VehicleBlock,
  VehicleView,
} from "../domain/model.js";
import type { RentalEvent } from "../domain/events.js";
import type { AvailableVehiclesQuery, FleetVehicleFact, ListRentalsFilter, VehicleAtLocation } from "./use-case-api.js";

export type { Actor } from "../../../platform/src/actor.js";

/** A position in a (name, id) ordered list. */
export interface NameCursor {
  readonly name: string;
  readonly id: string;
}

/** Who may see a rental as "own": the caller's subject (customer, driver, conductor, creating partner). */
export interface OwnScope {
  readonly subject: string;
}

export interface CatalogRepository {
  insertLocation(location: Location): Promise<void>;
  findLocation(id: string): Promise<Location | null>;
  listLocations(type: LocationType | null, limit: number, after: NameCursor | null): Promise<Location[]>;
  insertPlan(plan: PricingPlan): Promise<void>;
  findPlan(id: string): Promise<PricingPlan | null>;
  /** Compare-and-set on row_version. */
  archivePlan(id: string, expectedRowVersion: bigint, at: Date, by: string | null): Promise<PricingPlan | null>;
  listPlans(filter: { readonly includeArchived: boolean; readonly currency: string | null }, limit: number, after: NameCursor | null): Promise<PricingPlan[]>;
}

export interface VehicleProjection {
  find(vehicleId: string): Promise<VehicleView | null>;
  /** The vehicle and whether any claim (rental or block) overlaps `period`, in one read; null when the projection has no such vehicle. */
  findForPeriod(vehicleId: string, period: Period): Promise<{ readonly vehicle: VehicleView; readonly claimed: boolean } | null>;
  /** Writes the fact unless the stored fleet row version is newer; true when written. */
  upsert(fact: FleetVehicleFact, at: Date): Promise<boolean>;
  updateStatus(vehicleId: string, status: VehicleView["status"], fleetRowVersion: bigint, at: Date): Promise<boolean>;
  setHome(vehicleId: string, locationId: string): Promise<void>;
  count(): Promise<number>;
  /** Where the vehicle will be at `at`: destination of its latest rental ending by then, else its home. */
  withLocationAt(vehicleId: string, at: Date): Promise<VehicleAtLocation | null>;
  available(query: AvailableVehiclesQuery, limit: number, after: { readonly plate: string; readonly id: string } | null): Promise<VehicleAtLocation[]>;
}

export interface QuoteRepository {
  insert(quote: Quote): Promise<void>;
  find(id: string): Promise<Quote | null>;
  /** Marks an unused quote used by `rentalId`; false when it was used already. */
  markUsed(id: string, rentalId: string): Promise<boolean>;
}

export interface RentalRepository {
  insert(rental: Rental): Promise<void>;
  find(id: string): Promise<Rental | null>;
  /** Reads and locks the row until the transaction ends. */
  findForUpdate(id: string): Promise<Rental | null>;
  /** Compare-and-set on the stored row_version (the rental carries the next one). */
  update(rental: Rental, expectedRowVersion: bigint): Promise<boolean>;
  list(filter: ListRentalsFilter, limit: number, after: TimeIdCursor | null): Promise<Rental[]>;
  listOwn(scope: OwnScope, statuses: readonly RentalStatus[], limit: number, after: TimeIdCursor | null): Promise<Rental[]>;
  insertCharges(charges: readonly RentalCharge[]): Promise<void>;
  charges(rentalId: string, limit: number, after: TimeIdCursor | null): Promise<RentalCharge[]>;
  allCharges(rentalId: string): Promise<RentalCharge[]>;
  insertPayment(payment: RentalPayment): Promise<void>;
  findPaymentForUpdate(id: string): Promise<RentalPayment | null>;
  updatePayment(payment: RentalPayment, expectedRowVersion: bigint): Promise<boolean>;
  payments(rentalId: string, limit: number, after: TimeIdCursor | null): Promise<RentalPayment[]>;
  allPayments(rentalId: string): Promise<RentalPayment[]>;
  /** RESERVED rentals whose start + window has passed, locked, skipping rows other replicas hold. */
  lockDueNoShows(startedBefore: Date, limit: number): Promise<Rental[]>;
  /** ACTIVE rentals past their end not yet announced overdue, locked, skipping rows others hold. */
  lockNewlyOverdue(endedBefore: Date, limit: number): Promise<Rental[]>;
  /** The next RESERVED rental of the vehicle starting at or after `from`. */
  nextReservation(vehicleId: string, from: Date): Promise<Rental | null>;
}

/**
 * The one timeline. Claims fail with VEHICLE_NOT_AVAILABLE or
 * STAFF_NOT_AVAILABLE through the exclusion constraints, mapped by the
 * unit of work.
 */
export interface Timeline {
  /**
   * A new reservation in one write: the rental, its vehicle claim, its
   * driver's and conductor's claims, its charges and the outbox row of
   * `event` (the RentalReserved announcing it), one round trip. Inside the
   * unit of work only, like Outbox.append.
   */
  bookNewRental(rental: Rental, charges: readonly RentalCharge[], event: RentalEvent | null): Promise<void>;
  claimVehicleForRental(vehicleId: string, rentalId: string, period: Period): Promise<void>;
  claimVehicleForBlock(vehicleId: string, reference: string, period: Period): Promise<void>;
  moveRentalClaim(rentalId: string, period: Period): Promise<void>;
  releaseRentalClaim(rentalId: string): Promise<void>;
  releaseBlockClaim(reference: string): Promise<void>;
  claimStaff(staffId: string, role: "driver" | "conductor", rentalId: string, period: Period): Promise<void>;
  moveStaffClaims(rentalId: string, period: Period): Promise<void>;
  releaseStaffClaim(rentalId: string, role: "driver" | "conductor"): Promise<void>;
  releaseStaffClaims(rentalId: string): Promise<void>;
  /** Claims of the vehicle overlapping the period (rentals with their status). */
  overlapping(vehicleId: string, period: Period): Promise<TimelineClaim[]>;
  /** RESERVED rentals whose claims overlap the period, locked (an urgent block displaces them). */
  lockOverlappingReservations(vehicleId: string, period: Period): Promise<Rental[]>;
  insertBlock(block: VehicleBlock): Promise<void>;
  findBlockForUpdate(reference: string): Promise<VehicleBlock | null>;
  updateBlock(block: VehicleBlock): Promise<void>;
}

/** A transaction boundary; `work` may run again after a serialization failure. */
export interface UnitOfWork {
  run<T>(work: () => Promise<T>): Promise<T>;
}

/** Identity as rental needs it, read with the service credential and cached briefly. */
export interface PersonDirectory {
  /** null when identity has no such user. */
  user(userId: string): Promise<{ readonly id: string; readonly active: boolean; readonly roles: readonly string[] } | null>;
  /** null when the user has no staff profile. */
  staffProfile(userId: string): Promise<{ readonly staffType: "driver" | "conductor" | "mechanic" | "admin" | "system" | "other"; readonly dailyRate: Money | null } | null>;
}

/** Fleet as rental needs it, read with the service credential. */
export interface FleetDirectory {
  vehicle(vehicleId: string): Promise<FleetVehicleFact | null>;
  /** Every vehicle, page by page. */
  allVehicles(): AsyncIterable<FleetVehicleFact>;
}

/**
 * Where rental's payment facts come from: the cash desk, a card terminal, a
 * bank transfer. Rental asks it to take each step (open a payment or a
 * deposit hold, capture, fail, refund, release, settle) and stores the
 * reference it answers. The recorded-payment adapter takes the step as the
 * desk reports it; an adapter that calls a card network would have to run
 * before the transaction (the use cases call this port inside it).
 */
export interface PaymentProviderPort {
  open(input: {
    readonly paymentId: string;
    readonly kind: RentalPayment["kind"];
    readonly provider: RentalPayment["provider"];
    readonly amount: Money;
    readonly status: RentalPayment["status"];
    readonly externalReference: string;
  }): Promise<{ readonly reference: string }>;
  change(input: {
    readonly paymentId: string;
    readonly provider: RentalPayment["provider"];
    readonly from: RentalPayment["status"];
    readonly to: RentalPayment["status"];
    readonly amount: Money;
    readonly externalReference: string;
  }): Promise<{ readonly reference: string }>;
}

export interface Clock {
  now(): Date;
}

export interface IdGenerator {
  newId(): string;
}
