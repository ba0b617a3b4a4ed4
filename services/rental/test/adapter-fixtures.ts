// Domain values and a recording fake of RentalUseCases for the adapter unit
// tests (no database, no network).
import { testCaller } from "../../platform/src/testing/fakes.js";
import { fakeHandlers, prepared, recordingFake, type RecordedCall } from "../../platform/src/testing/handlers.js";
import { rentalServiceBinding } from "../src/adapters/grpc/rental-handlers.js";
import type { RentalUseCases, VehicleAtLocation } from "../src/app/use-case-api.js";
import type {
  Location,
  PricingPlan,
  PricingRates,
  Quote,
  Rental,
  RentalCharge,
  RentalPayment,
  TimelineClaim,
  VehicleBlock,
} from "../src/domain/model.js";

export const ids = {
  rental: "0b7e3f4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
  vehicle: "1a2b3c4d-5e6f-4a0b-9c1d-2e3f4a5b6c7d",
  customer: "2b3c4d5e-6f7a-4b1c-8d2e-3f4a5b6c7d8e",
  driver: "3c4d5e6f-7a8b-4c2d-9e3f-4a5b6c7d8e9f",
  conductor: "4d5e6f7a-8b9c-4d3e-8f4a-5b6c7d8e9f0a",
  origin: "5e6f7a8b-9c0d-4e4f-9a5b-6c7d8e9f0a1b",
  destination: "6f7a8b9c-0d1e-4f5a-8b6c-7d8e9f0a1b2c",
  plan: "7a8b9c0d-1e2f-4a6b-9c7d-8e9f0a1b2c3d",
  quote: "8b9c0d1e-2f3a-4b7c-8d8e-9f0a1b2c3d4e",
  payment: "9c0d1e2f-3a4b-4c8d-9e9f-0a1b2c3d4e5f",
  charge: "ad1e2f3a-4b5c-4d9e-8f0a-1b2c3d4e5f6a",
  staff: "be2f3a4b-5c6d-4e0f-9a1b-2c3d4e5f6a7b",
} as const;

export const eur = (amountMinor: bigint) => ({ amountMinor, currency: "EUR" });
const t0 = new Date("2030-05-01T08:00:00.000Z");
const t1 = new Date("2030-05-04T08:00:00.000Z");

export const location: Location = {
  id: ids.origin,
  attributes: { name: "Berlin Hbf", type: "depot", address: "Europaplatz 1", timeZone: "Europe/Berlin" },
  rowVersion: 3n,
  createdAt: t0,
  updatedAt: t1,
  createdBy: ids.staff,
  updatedBy: null,
};

export const fullRates: PricingRates = {
  currency: "EUR",
  dailyRate: eur(4_900n),
  perKmRate: eur(25n),
  includedKmPerDay: 200,
  hourlyRate: eur(900n),
  lateFeePerHour: eur(1_500n),
  lateGraceMinutes: 30,
  lateFeeCap: eur(4_900n),
  cancellation: { freeUntilHoursBefore: 48, fee: eur(2_000n) },
  noShowFee: eur(4_900n),
  deposit: eur(30_000n),
};

export const minimalRates: PricingRates = {
  currency: "JPY",
  dailyRate: { amountMinor: 8_000n, currency: "JPY" },
  perKmRate: null,
  includedKmPerDay: null,
  hourlyRate: null,
  lateFeePerHour: null,
  lateGraceMinutes: 0,
  lateFeeCap: null,
  cancellation: null,
  noShowFee: null,
  deposit: null,
};

export const plan: PricingPlan = {
  id: ids.plan,
  name: "City weekly",
  description: "",
  rates: fullRates,
  archivedAt: null,
  rowVersion: 1n,
  createdAt: t0,
  updatedAt: t0,
  createdBy: ids.staff,
  updatedBy: ids.staff,
};

export const rental: Rental = {
  id: ids.rental,
  vehicleId: ids.vehicle,
  customerId: ids.customer,
  driverId: ids.driver,
  conductorId: ids.conductor,
  period: { start: t0, end: t1 },
  originLocationId: ids.origin,
  destinationLocationId: ids.destination,
  pricingPlanId: ids.plan,
  quoteId: null,
  status: "no_show",
  currency: "EUR",
  timeZone: "Europe/Berlin",
  chargesTotal: eur(19_600n),
  paidTotal: eur(5_000n),
  deposit: eur(30_000n),
  pickupTime: null,
  pickupOdometerKm: null,
  returnTime: null,
  returnOdometerKm: 0,
  returnLocationId: null,
  notes: "keys at the desk",
  cancelReason: null,
  cancelTime: null,
  noShowTime: new Date("2030-05-01T10:00:00.000Z"),
  atRisk: true,
  atRiskReason: "previous renter overdue",
  overdueNotifiedAt: null,
  driverDailyRate: eur(12_000n),
  conductorDailyRate: null,
  rowVersion: 7n,
  createdAt: t0,
  updatedAt: t1,
  createdBy: ids.staff,
  updatedBy: null,
};

export const charge: RentalCharge = {
  id: ids.charge,
  rentalId: ids.rental,
  type: "discount",
  description: "loyalty",
  quantity: 1,
  unitPrice: eur(-500n),
  amount: eur(-500n),
  createdAt: t0,
  createdBy: null,
};

export const payment: RentalPayment = {
  id: ids.payment,
  rentalId: ids.rental,
  kind: "deposit",
  provider: "card",
  amount: eur(30_000n),
  status: "settled",
  refundedAmount: eur(10_000n),
  appliedAmount: eur(20_000n),
  externalReference: "terminal-42",
  statusReason: "",
  rowVersion: 4n,
  createdAt: t0,
  updatedAt: t1,
  createdBy: ids.staff,
  updatedBy: ids.staff,
};

export const quote: Quote = {
  id: ids.quote,
  terms: {
    vehicleId: ids.vehicle,
    period: { start: t0, end: t1 },
    originLocationId: ids.origin,
    destinationLocationId: ids.destination,
    pricingPlanId: ids.plan,
    estimatedDistanceKm: 350,
    driverId: null,
    conductorId: ids.conductor,
  },
  customerId: ids.customer,
  lines: [
    { type: "base", description: "3 days", quantity: 3, unitPrice: eur(4_900n), amount: eur(14_700n), estimated: false },
    { type: "distance", description: "est. km", quantity: 0, unitPrice: eur(25n), amount: eur(0n), estimated: true },
  ],
  total: eur(14_700n),
  deposit: eur(30_000n),
  hourly: false,
  rentalDays: 3,
  expiresAt: t1,
  createdAt: t0,
  createdBy: null,
  usedByRentalId: null,
};

export const block: VehicleBlock = {
  reference: "maintenance-job:abc",
  vehicleId: ids.vehicle,
  period: { start: t0, end: t1 },
  reason: "brakes",
  urgent: true,
  releasedAt: t1,
  createdAt: t0,
  createdBy: null,
};

export const claim: TimelineClaim = {
  kind: "block", period: { start: t0, end: t1 }, reference: "maintenance-job:abc", rentalStatus: null, reason: "brakes", urgent: true, atRisk: false,
};

export const vehicle: VehicleAtLocation = {
  vehicleId: ids.vehicle,
  plateNumber: "B-FM 1024",
  make: "VW",
  model: "Crafter",
  variant: null,
  passengerCapacity: 3,
  loadLimitKg: 1_200,
  status: "active",
  fleetRowVersion: 9n,
  homeLocationId: ids.origin,
  locationId: ids.destination,
};

/** Answers of the fake use cases for requests that pass validation. */
const ANSWERS: Partial<Record<keyof RentalUseCases, unknown>> = {
  createLocation: location,
  getLocation: location,
  listLocations: { items: [location], nextPageToken: "" },
  createPricingPlan: plan,
  getPricingPlan: plan,
  listPricingPlans: { items: [plan], nextPageToken: "" },
  archivePricingPlan: plan,
  quote: prepared(quote),
  reserve: prepared({ rental, charges: [charge] }),
  activate: prepared(rental),
  extend: { rental, charges: [] },
  complete: { rental, charges: [charge] },
  cancel: rental,
  assignDriver: prepared(rental),
  getRental: rental,
  listRentals: { items: [rental], nextPageToken: "next" },
  getOwnRental: { rental, charges: [charge], payments: [payment] },
  listOwnRentals: { items: [], nextPageToken: "" },
  checkAvailability: [],
  listAvailableVehicles: { items: [vehicle], nextPageToken: "" },
  addCharge: { charge, rental },
  listCharges: { items: [charge], nextPageToken: "" },
  recordPayment: { payment, rental },
  updatePaymentStatus: { payment, rental },
  listPayments: { items: [payment], nextPageToken: "" },
  blockVehicle: prepared({ block, displaced: [rental] }),
  releaseBlock: block,
  listTimeline: [claim],
  setHomeLocation: vehicle,
  refreshVehicleProjection: prepared(12),
  applyFleetVehicle: undefined,
  applyFleetVehicleStatus: undefined,
};

/** A RentalUseCases whose every method records its call and answers from ANSWERS. */
export function recordingUseCases(): { useCases: RentalUseCases; calls: RecordedCall[] } {
  const { fake, calls } = recordingFake<RentalUseCases>(ANSWERS);
  return { useCases: fake, calls };
}

export const staffCaller = testCaller(ids.staff, ["rentals.reserve"]);

/** The binding's handlers over a recording fake: call(localName, request), as staffCaller. */
export const rentalHandlers = () => fakeHandlers(rentalServiceBinding, ANSWERS, staffCaller);
