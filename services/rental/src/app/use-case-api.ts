// What rental's use cases offer the adapters (gRPC handlers, event handlers,
// jobs). Commands carry domain types only; the gRPC adapter has validated
// their shape (required fields, formats, lengths) and the use cases check
// everything that needs data (existence, state, overlaps, currencies).
import type { Caller } from "../../../platform/src/auth.js";
import type { Money } from "../../../platform/src/money.js";
import type { Page } from "../../../platform/src/paging.js";
import type {
  ChargeType,
  FleetVehicleStatus,
  Location,
  LocationAttributes,
  LocationType,
  PaymentKind,
  PaymentProvider,
  PaymentStatus,
  Period,
  PricingPlan,
  PricingRates,
  Quote,
  Rental,
  RentalCharge,
  RentalPayment,
  RentalStatus,
  RentalTerms,
  TimelineClaim,
  VehicleBlock,
  VehicleView,
} from "../domain/model.js";

export type { Page };

/** page_size (0 = default) and page_token as the client sent them. */
export interface PageQuery {
  readonly pageSize: number;
  readonly pageToken: string;
}

export interface CreatePricingPlanCommand {
  readonly name: string;
  readonly description: string;
  readonly rates: PricingRates;
}

/** Who the reservation is for and what it books: from a quote or from terms. */
export interface ReserveCommand {
  readonly source: { readonly quoteId: string } | { readonly terms: RentalTerms };
  /** Staff RPC: required. Own RPC: null (the caller). */
  readonly customerId: string | null;
  readonly driverId: string | null;
  readonly conductorId: string | null;
  readonly notes: string;
}

export interface ChargeInput {
  readonly type: ChargeType;
  readonly description: string;
  /** >= 1 */
  readonly quantity: number;
  readonly unitPrice: Money;
}

export interface ListRentalsFilter {
  readonly customerId: string | null;
  readonly vehicleId: string | null;
  readonly driverId: string | null;
  readonly statuses: readonly RentalStatus[];
  readonly overlaps: Period | null;
  readonly atRiskOnly: boolean;
}

export interface VehicleAvailability {
  readonly vehicleId: string;
  readonly available: boolean;
  readonly reasons: readonly ("overlapping_rental" | "vehicle_decommissioned" | "vehicle_not_found" | "vehicle_blocked" | "vehicle_out_of_service" | "at_other_location")[];
  /** Claims overlapping the period (rentals and blocks), without who holds them. */
  readonly conflictingPeriods: readonly Period[];
}

export interface AvailableVehiclesQuery {
  readonly period: Period;
  readonly minPassengerCapacity: number | null;
  readonly minLoadLimitKg: number | null;
  readonly locationId: string | null;
}

/** A vehicle of the projection with where it will be when the period starts. */
export interface VehicleAtLocation extends VehicleView {
  readonly locationId: string | null;
}

/** Fleet's view of a vehicle, from an event or ListVehicles, as the projection stores it. */
export interface FleetVehicleFact {
  readonly vehicleId: string;
  readonly plateNumber: string;
  readonly make: string;
  readonly model: string;
  readonly variant: string | null;
  readonly passengerCapacity: number | null;
  readonly loadLimitKg: number | null;
  readonly status: FleetVehicleStatus;
  readonly fleetRowVersion: bigint;
}

export interface RentalWithCharges {
  readonly rental: Rental;
  readonly charges: readonly RentalCharge[];
}

/**
 * A use case whose peer reads are done: run() does the rest in one
 * transaction. Handlers call the use case in remoteFirst's prepare and run()
 * in its handle, so no transaction is open while a peer answers.
 */
export interface Prepared<R> {
  run(): Promise<R>;
}

export interface RentalUseCases {
  createLocation(attributes: LocationAttributes, caller: Caller): Promise<Location>;
  getLocation(id: string): Promise<Location>;
  listLocations(type: LocationType | null, page: PageQuery): Promise<Page<Location>>;

  createPricingPlan(command: CreatePricingPlanCommand, caller: Caller): Promise<PricingPlan>;
  getPricingPlan(id: string): Promise<PricingPlan>;
  listPricingPlans(filter: { readonly includeArchived: boolean; readonly currency: string | null }, page: PageQuery): Promise<Page<PricingPlan>>;
  archivePricingPlan(id: string, expectedRowVersion: bigint, caller: Caller): Promise<PricingPlan>;

  /** customerId null: the caller. A caller without "rentals.reserve" may only quote for themselves. */
  quote(terms: RentalTerms, customerId: string | null, caller: Caller): Promise<Prepared<Quote>>;
  /** "staff": ReserveRental (customer_id required). "own": ReserveOwnRental (the caller is the customer). */
  reserve(command: ReserveCommand, caller: Caller, mode: "staff" | "own"): Promise<Prepared<RentalWithCharges>>;
  activate(command: {
    readonly rentalId: string;
    readonly expectedRowVersion: bigint;
    readonly pickupTime: Date | null;
    readonly pickupOdometerKm: number | null;
    readonly driverId: string | null;
  }, caller: Caller): Promise<Prepared<Rental>>;
  extend(command: { readonly rentalId: string; readonly expectedRowVersion: bigint; readonly newEnd: Date }, caller: Caller): Promise<RentalWithCharges>;
  complete(command: {
    readonly rentalId: string;
    readonly expectedRowVersion: bigint;
    readonly returnTime: Date | null;
    readonly returnOdometerKm: number | null;
    readonly returnLocationId: string | null;
    readonly extraCharges: readonly ChargeInput[];
    readonly notes: string;
  }, caller: Caller): Promise<RentalWithCharges>;
  /** "own": only the caller's rentals (as customer, conductor, or the partner that created it); others are RENTAL_NOT_FOUND. */
  cancel(command: { readonly rentalId: string; readonly expectedRowVersion: bigint; readonly reason: string }, caller: Caller, mode: "staff" | "own"): Promise<Rental>;
  assignDriver(command: { readonly rentalId: string; readonly expectedRowVersion: bigint; readonly driverId: string | null }, caller: Caller): Promise<Prepared<Rental>>;

  getRental(id: string): Promise<Rental>;
  listRentals(filter: ListRentalsFilter, page: PageQuery): Promise<Page<Rental>>;
  /** Customer, driver, conductor or creating partner; anyone else RENTAL_NOT_FOUND. */
  getOwnRental(id: string, caller: Caller): Promise<{ readonly rental: Rental; readonly charges: readonly RentalCharge[]; readonly payments: readonly RentalPayment[] }>;
  listOwnRentals(statuses: readonly RentalStatus[], page: PageQuery, caller: Caller): Promise<Page<Rental>>;

  checkAvailability(vehicleIds: readonly string[], period: Period): Promise<VehicleAvailability[]>;
  listAvailableVehicles(query: AvailableVehiclesQuery, page: PageQuery): Promise<Page<VehicleAtLocation>>;

  addCharge(rentalId: string, charge: ChargeInput, caller: Caller): Promise<{ readonly charge: RentalCharge; readonly rental: Rental }>;
  listCharges(rentalId: string, page: PageQuery): Promise<Page<RentalCharge>>;
  recordPayment(command: {
    readonly rentalId: string;
    readonly kind: PaymentKind;
    readonly provider: PaymentProvider;
    readonly amount: Money;
    readonly status: PaymentStatus;
    readonly externalReference: string;
  }, caller: Caller): Promise<{ readonly payment: RentalPayment; readonly rental: Rental }>;
  updatePaymentStatus(command: {
    readonly paymentId: string;
    readonly expectedRowVersion: bigint;
    readonly targetStatus: PaymentStatus;
    readonly reason: string;
    readonly externalReference: string;
    /** Partial refund / deposit application; null = the whole remaining amount. */
    readonly amount: Money | null;
  }, caller: Caller): Promise<{ readonly payment: RentalPayment; readonly rental: Rental }>;
  listPayments(rentalId: string, page: PageQuery): Promise<Page<RentalPayment>>;

  blockVehicle(command: {
    readonly reference: string;
    readonly vehicleId: string;
    readonly period: Period;
    readonly reason: string;
    readonly urgent: boolean;
  }, caller: Caller): Promise<Prepared<{ readonly block: VehicleBlock; readonly displaced: readonly Rental[] }>>;
  releaseBlock(reference: string, caller: Caller): Promise<VehicleBlock>;
  listTimeline(vehicleId: string, window: Period): Promise<TimelineClaim[]>;
  setHomeLocation(vehicleId: string, locationId: string, caller: Caller): Promise<VehicleAtLocation>;
  /** Reloads the vehicle projection from fleet (service credential); the number of vehicles written. */
  refreshVehicleProjection(): Promise<Prepared<number>>;

  /** Fleet's events and the backfill: newer fleet row versions win, older ones are ignored. */
  applyFleetVehicle(fact: FleetVehicleFact): Promise<void>;
  applyFleetVehicleStatus(vehicleId: string, status: FleetVehicleStatus, fleetRowVersion: bigint): Promise<void>;

  /** Jobs: reservations past their start + no-show window become NO_SHOW; overdue active rentals are announced. */
  sweepNoShows(now: Date): Promise<number>;
  sweepOverdue(now: Date): Promise<number>;
}
