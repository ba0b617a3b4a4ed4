import { create } from "@bufbuild/protobuf";
import { PageResponseSchema } from "../../../../../gen/fleetmesh/common/v1/paging_pb.js";
import {
  RentalPaymentKind as ProtoPaymentKind,
  type RentalChargeInput as ProtoChargeInput,
  type RentalTerms as ProtoRentalTerms,
} from "../../../../../gen/fleetmesh/rental/v1/rental_pb.js";
import {
  ActivateRentalResponseSchema,
  AddRentalChargeResponseSchema,
  ArchivePricingPlanResponseSchema,
  AssignRentalDriverResponseSchema,
  BlockVehicleResponseSchema,
  CancelOwnRentalResponseSchema,
  CancelRentalResponseSchema,
  CheckAvailabilityResponseSchema,
  CompleteRentalResponseSchema,
  CreateLocationResponseSchema,
  CreatePricingPlanResponseSchema,
  ExtendRentalResponseSchema,
  GetLocationResponseSchema,
  GetOwnRentalResponseSchema,
  GetPricingPlanResponseSchema,
  GetRentalResponseSchema,
  ListAvailableVehiclesResponseSchema,
  ListLocationsResponseSchema,
  ListOwnRentalsResponseSchema,
  ListPricingPlansResponseSchema,
  ListRentalChargesResponseSchema,
  ListRentalPaymentsResponseSchema,
  ListRentalsResponseSchema,
  ListVehicleTimelineResponseSchema,
  QuoteRentalResponseSchema,
  RecordRentalPaymentResponseSchema,
  RefreshVehicleProjectionResponseSchema,
  ReleaseVehicleBlockResponseSchema,
  RentalService,
  ReserveOwnRentalResponseSchema,
  ReserveRentalResponseSchema,
  SetVehicleHomeLocationResponseSchema,
  UpdateRentalPaymentStatusResponseSchema,
  type ActivateRentalRequest,
  type AssignRentalDriverRequest,
  type BlockVehicleRequest,
  type QuoteRentalRequest,
  type RefreshVehicleProjectionRequest,
  type ReserveOwnRentalRequest,
  type ReserveRentalRequest,
} from "../../../../../gen/fleetmesh/rental/v1/rental_service_pb.js";
import { bindService, remoteFirst, type ServiceBinding } from "../../../../platform/src/grpc/server.js";
import { isCurrency } from "../../../../platform/src/money.js";
import { Violations } from "../../../../platform/src/validation.js";
import type { ChargeInput, ReserveCommand, RentalUseCases } from "../../app/use-case-api.js";
import type { PaymentKind, PaymentStatus } from "../../domain/model.js";
import {
  locationTypeFromProto,
  paymentKindFromProto,
  paymentProviderFromProto,
  paymentStatusFromProto,
} from "../proto/rental-enums.js";
import {
  locationToProto,
  pricingPlanToProto,
  quoteToProto,
  rentalChargeToProto,
  rentalPaymentToProto,
  rentalToProto,
  timelineClaimToProto,
  vehicleAvailabilityToProto,
  vehicleBlockToProto,
  vehicleSummaryToProto,
} from "../proto/rental-proto.js";
import {
  blockReferenceOf,
  chargeInputOf,
  check,
  expectedRowVersion,
  locationAttributesOf,
  MAX_AVAILABILITY_VEHICLES,
  MAX_EXTERNAL_REFERENCE,
  MAX_EXTRA_CHARGES,
  MAX_NOTES,
  MAX_PLAN_DESCRIPTION,
  MAX_PLAN_NAME,
  MAX_REASON,
  MAX_RENTAL_DAYS,
  moneyOf,
  nonNegativeInt,
  optionalText,
  optionalUuid,
  pageOf,
  periodOf,
  pricingRatesOf,
  rentalTermsOf,
  requiredText,
  requiredUuid,
  statusesOf,
  timeOf,
} from "./rental-requests.js";

// The RentalService RPCs: check the request's shape (every violation at
// once, with proto field paths), map it to a use-case command, call the use
// case as ctx.caller, map the result back. A request with violations never
// reaches a use case, so it writes nothing.
//
// The use cases make their own peer reads before opening a transaction, so
// no handler here needs remoteFirst. A `!` after check(v) is safe: the
// parsers return null only after recording a violation.

const pageResponse = (nextPageToken: string) => create(PageResponseSchema, { nextPageToken });

/** Statuses a payment may be recorded in, by kind (the contract's state machines). */
const RECORDABLE_STATUSES: Readonly<Record<PaymentKind, readonly PaymentStatus[]>> = {
  payment: ["pending", "captured", "failed"],
  deposit: ["held", "captured"],
};

type ReserveSource =
  | { readonly case: "quoteId"; readonly value: string }
  | { readonly case: "terms"; readonly value: ProtoRentalTerms }
  | { readonly case: undefined; readonly value?: undefined };

/** ReserveRental / ReserveOwnRental's oneof: exactly one of quote_id or terms. */
function reserveSourceOf(v: Violations, source: ReserveSource): ReserveCommand["source"] | null {
  switch (source.case) {
    case "quoteId":
      return { quoteId: requiredUuid(v, "quote_id", source.value) };
    case "terms": {
      const terms = rentalTermsOf(v, "terms", source.value);
      return terms === null ? null : { terms };
    }
    default:
      v.add("source", "exactly one of quote_id or terms is required", "REQUIRED");
      return null;
  }
}

/** A list of caller charges, all in the first one's currency. */
function chargeInputsOf(v: Violations, field: string, inputs: readonly ProtoChargeInput[]): ChargeInput[] {
  if (inputs.length > MAX_EXTRA_CHARGES) v.add(field, `at most ${MAX_EXTRA_CHARGES} charges`, "TOO_MANY");
  const first = inputs[0]?.unitPrice?.currencyCode ?? "";
  const currency = isCurrency(first) ? first : null;
  const out: ChargeInput[] = [];
  inputs.forEach((input, i) => {
    const charge = chargeInputOf(v, `${field}[${i}]`, input, currency);
    if (charge !== null) out.push(charge);
  });
  return out;
}

export function rentalServiceBinding(useCases: RentalUseCases): ServiceBinding {
  return bindService(RentalService, {
    // ---- locations ----

    async createLocation(req, ctx) {
      const v = new Violations();
      const attributes = locationAttributesOf(v, "attributes", req.attributes);
      check(v);
      const location = await useCases.createLocation(attributes, ctx.caller);
      return create(CreateLocationResponseSchema, { location: locationToProto(location) });
    },

    async getLocation(req) {
      check(new Violations().uuid("location_id", req.locationId));
      return create(GetLocationResponseSchema, { location: locationToProto(await useCases.getLocation(req.locationId)) });
    },

    async listLocations(req) {
      const v = new Violations();
      const type = locationTypeFromProto(req.type);
      if (type === undefined) v.add("type", "unknown location type", "UNKNOWN_ENUM_VALUE");
      const page = pageOf(v, req.page);
      check(v);
      const result = await useCases.listLocations(type ?? null, page);
      return create(ListLocationsResponseSchema, {
        locations: result.items.map(locationToProto),
        page: pageResponse(result.nextPageToken),
      });
    },

    // ---- pricing plans ----

    async createPricingPlan(req, ctx) {
      const v = new Violations();
      const name = requiredText(v, "name", req.name, MAX_PLAN_NAME);
      const description = optionalText(v, "description", req.description, MAX_PLAN_DESCRIPTION);
      const rates = pricingRatesOf(v, "rates", req.rates);
      check(v);
      const plan = await useCases.createPricingPlan({ name, description, rates }, ctx.caller);
      return create(CreatePricingPlanResponseSchema, { pricingPlan: pricingPlanToProto(plan) });
    },

    async getPricingPlan(req) {
      check(new Violations().uuid("pricing_plan_id", req.pricingPlanId));
      return create(GetPricingPlanResponseSchema, { pricingPlan: pricingPlanToProto(await useCases.getPricingPlan(req.pricingPlanId)) });
    },

    async listPricingPlans(req) {
      const v = new Violations();
      if (req.currencyCode !== "" && !isCurrency(req.currencyCode)) {
        v.add("currency_code", "must be an ISO 4217 currency code such as EUR", "INVALID_FORMAT");
      }
      const page = pageOf(v, req.page);
      check(v);
      const result = await useCases.listPricingPlans(
        { includeArchived: req.includeArchived, currency: req.currencyCode === "" ? null : req.currencyCode },
        page,
      );
      return create(ListPricingPlansResponseSchema, {
        pricingPlans: result.items.map(pricingPlanToProto),
        page: pageResponse(result.nextPageToken),
      });
    },

    async archivePricingPlan(req, ctx) {
      const v = new Violations().uuid("pricing_plan_id", req.pricingPlanId);
      const rowVersion = expectedRowVersion(v, req.expectedRowVersion);
      check(v);
      const plan = await useCases.archivePricingPlan(req.pricingPlanId, rowVersion, ctx.caller);
      return create(ArchivePricingPlanResponseSchema, { pricingPlan: pricingPlanToProto(plan) });
    },

    // ---- quotes and reservations ----

    // Handlers whose use case reads identity or fleet first are remoteFirst:
    // those reads happen before the idempotency layer's transaction opens.
    quoteRental: remoteFirst(async (req: QuoteRentalRequest, ctx) => {
      const v = new Violations();
      const terms = rentalTermsOf(v, "terms", req.terms);
      const customerId = optionalUuid(v, "customer_id", req.customerId);
      check(v);
      return useCases.quote(terms!, customerId, ctx.caller);
    }, async (_req, _ctx, prepared) => create(QuoteRentalResponseSchema, { quote: quoteToProto(await prepared.run()) })),

    reserveRental: remoteFirst(async (req: ReserveRentalRequest, ctx) => {
      const v = new Violations();
      const source = reserveSourceOf(v, req.source);
      const customerId = requiredUuid(v, "customer_id", req.customerId);
      const driverId = optionalUuid(v, "driver_id", req.driverId);
      const conductorId = optionalUuid(v, "conductor_id", req.conductorId);
      const notes = optionalText(v, "notes", req.notes, MAX_NOTES);
      check(v);
      return useCases.reserve({ source: source!, customerId, driverId, conductorId, notes }, ctx.caller, "staff");
    }, async (_req, _ctx, prepared) => {
      const { rental, charges } = await prepared.run();
      return create(ReserveRentalResponseSchema, { rental: rentalToProto(rental), charges: charges.map(rentalChargeToProto) });
    }),

    reserveOwnRental: remoteFirst(async (req: ReserveOwnRentalRequest, ctx) => {
      const v = new Violations();
      const source = reserveSourceOf(v, req.source);
      const driverId = optionalUuid(v, "driver_id", req.driverId);
      const conductorId = optionalUuid(v, "conductor_id", req.conductorId);
      const notes = optionalText(v, "notes", req.notes, MAX_NOTES);
      check(v);
      return useCases.reserve({ source: source!, customerId: null, driverId, conductorId, notes }, ctx.caller, "own");
    }, async (_req, _ctx, prepared) => {
      const { rental, charges } = await prepared.run();
      return create(ReserveOwnRentalResponseSchema, { rental: rentalToProto(rental), charges: charges.map(rentalChargeToProto) });
    }),

    // ---- lifecycle ----

    activateRental: remoteFirst(async (req: ActivateRentalRequest, ctx) => {
      const v = new Violations().uuid("rental_id", req.rentalId);
      const rowVersion = expectedRowVersion(v, req.expectedRowVersion);
      const pickupTime = timeOf(v, "pickup_time", req.pickupTime, false);
      const pickupOdometerKm = nonNegativeInt(v, "pickup_odometer_km", req.pickupOdometerKm);
      const driverId = optionalUuid(v, "driver_id", req.driverId);
      check(v);
      return useCases.activate(
        { rentalId: req.rentalId, expectedRowVersion: rowVersion, pickupTime, pickupOdometerKm, driverId },
        ctx.caller,
      );
    }, async (_req, _ctx, prepared) => create(ActivateRentalResponseSchema, { rental: rentalToProto(await prepared.run()) })),

    async completeRental(req, ctx) {
      const v = new Violations().uuid("rental_id", req.rentalId);
      const rowVersion = expectedRowVersion(v, req.expectedRowVersion);
      const returnTime = timeOf(v, "return_time", req.returnTime, false);
      const returnOdometerKm = nonNegativeInt(v, "return_odometer_km", req.returnOdometerKm);
      const returnLocationId = optionalUuid(v, "return_location_id", req.returnLocationId);
      const extraCharges = chargeInputsOf(v, "extra_charges", req.extraCharges);
      const notes = optionalText(v, "notes", req.notes, MAX_NOTES);
      check(v);
      const { rental, charges } = await useCases.complete(
        { rentalId: req.rentalId, expectedRowVersion: rowVersion, returnTime, returnOdometerKm, returnLocationId, extraCharges, notes },
        ctx.caller,
      );
      return create(CompleteRentalResponseSchema, { rental: rentalToProto(rental), charges: charges.map(rentalChargeToProto) });
    },

    async cancelRental(req, ctx) {
      const v = new Violations().uuid("rental_id", req.rentalId);
      const rowVersion = expectedRowVersion(v, req.expectedRowVersion);
      const reason = requiredText(v, "reason", req.reason, MAX_REASON);
      if (req.cancellationFee !== undefined) {
        v.add("cancellation_fee", "is deprecated and must not be set: the fee comes from the pricing plan's cancellation policy",
          "SERVER_COMPUTED");
      }
      check(v);
      const rental = await useCases.cancel({ rentalId: req.rentalId, expectedRowVersion: rowVersion, reason }, ctx.caller, "staff");
      return create(CancelRentalResponseSchema, { rental: rentalToProto(rental) });
    },

    async cancelOwnRental(req, ctx) {
      const v = new Violations().uuid("rental_id", req.rentalId);
      const rowVersion = expectedRowVersion(v, req.expectedRowVersion);
      const reason = requiredText(v, "reason", req.reason, MAX_REASON);
      check(v);
      const rental = await useCases.cancel({ rentalId: req.rentalId, expectedRowVersion: rowVersion, reason }, ctx.caller, "own");
      return create(CancelOwnRentalResponseSchema, { rental: rentalToProto(rental) });
    },

    assignRentalDriver: remoteFirst(async (req: AssignRentalDriverRequest, ctx) => {
      const v = new Violations().uuid("rental_id", req.rentalId);
      const rowVersion = expectedRowVersion(v, req.expectedRowVersion);
      const driverId = optionalUuid(v, "driver_id", req.driverId);
      check(v);
      return useCases.assignDriver({ rentalId: req.rentalId, expectedRowVersion: rowVersion, driverId }, ctx.caller);
    }, async (_req, _ctx, prepared) => create(AssignRentalDriverResponseSchema, { rental: rentalToProto(await prepared.run()) })),

    async extendRental(req, ctx) {
      const v = new Violations().uuid("rental_id", req.rentalId);
      const rowVersion = expectedRowVersion(v, req.expectedRowVersion);
      // "After the current end" and the total length need the rental: the use case checks them.
      const newEnd = timeOf(v, "new_end_time", req.newEndTime, true);
      check(v);
      const { rental, charges } = await useCases.extend({ rentalId: req.rentalId, expectedRowVersion: rowVersion, newEnd: newEnd! }, ctx.caller);
      return create(ExtendRentalResponseSchema, { rental: rentalToProto(rental), charges: charges.map(rentalChargeToProto) });
    },

    // ---- reads ----

    async getRental(req) {
      check(new Violations().uuid("rental_id", req.rentalId));
      return create(GetRentalResponseSchema, { rental: rentalToProto(await useCases.getRental(req.rentalId)) });
    },

    async listRentals(req) {
      const v = new Violations();
      const customerId = optionalUuid(v, "customer_id", req.customerId);
      const vehicleId = optionalUuid(v, "vehicle_id", req.vehicleId);
      const driverId = optionalUuid(v, "driver_id", req.driverId);
      const statuses = statusesOf(v, "statuses", req.statuses);
      // A filter, not a booking: any length, but a real period.
      const overlaps = req.overlaps === undefined ? null : periodOf(v, "overlaps", req.overlaps, { maxDays: null });
      const page = pageOf(v, req.page);
      check(v);
      const result = await useCases.listRentals({ customerId, vehicleId, driverId, statuses, overlaps, atRiskOnly: req.atRiskOnly }, page);
      return create(ListRentalsResponseSchema, { rentals: result.items.map(rentalToProto), page: pageResponse(result.nextPageToken) });
    },

    async getOwnRental(req, ctx) {
      check(new Violations().uuid("rental_id", req.rentalId));
      const { rental, charges, payments } = await useCases.getOwnRental(req.rentalId, ctx.caller);
      return create(GetOwnRentalResponseSchema, {
        rental: rentalToProto(rental),
        charges: charges.map(rentalChargeToProto),
        payments: payments.map(rentalPaymentToProto),
      });
    },

    async listOwnRentals(req, ctx) {
      const v = new Violations();
      const statuses = statusesOf(v, "statuses", req.statuses);
      const page = pageOf(v, req.page);
      check(v);
      const result = await useCases.listOwnRentals(statuses, page, ctx.caller);
      return create(ListOwnRentalsResponseSchema, { rentals: result.items.map(rentalToProto), page: pageResponse(result.nextPageToken) });
    },

    // ---- availability ----

    async checkAvailability(req) {
      const v = new Violations();
      if (req.vehicleIds.length === 0) v.add("vehicle_ids", "at least one vehicle id is required", "REQUIRED");
      else if (req.vehicleIds.length > MAX_AVAILABILITY_VEHICLES) {
        v.add("vehicle_ids", `at most ${MAX_AVAILABILITY_VEHICLES} vehicle ids`, "TOO_MANY");
      } else req.vehicleIds.forEach((id, i) => v.uuid(`vehicle_ids[${i}]`, id));
      const period = periodOf(v, "period", req.period, { maxDays: MAX_RENTAL_DAYS });
      check(v);
      const vehicles = await useCases.checkAvailability(req.vehicleIds, period!);
      return create(CheckAvailabilityResponseSchema, { vehicles: vehicles.map(vehicleAvailabilityToProto) });
    },

    async listAvailableVehicles(req) {
      const v = new Violations();
      const period = periodOf(v, "period", req.period, { maxDays: MAX_RENTAL_DAYS });
      const minPassengerCapacity = nonNegativeInt(v, "min_passenger_capacity", req.minPassengerCapacity);
      const minLoadLimitKg = nonNegativeInt(v, "min_load_limit_kg", req.minLoadLimitKg);
      const locationId = optionalUuid(v, "location_id", req.locationId);
      const page = pageOf(v, req.page);
      check(v);
      const result = await useCases.listAvailableVehicles({ period: period!, minPassengerCapacity, minLoadLimitKg, locationId }, page);
      return create(ListAvailableVehiclesResponseSchema, {
        vehicles: result.items.map(vehicleSummaryToProto),
        page: pageResponse(result.nextPageToken),
      });
    },

    // ---- charges and payments ----

    async addRentalCharge(req, ctx) {
      const v = new Violations().uuid("rental_id", req.rentalId);
      const charge = chargeInputOf(v, "charge", req.charge, null);
      check(v);
      const result = await useCases.addCharge(req.rentalId, charge!, ctx.caller);
      return create(AddRentalChargeResponseSchema, { charge: rentalChargeToProto(result.charge), rental: rentalToProto(result.rental) });
    },

    async listRentalCharges(req) {
      const v = new Violations().uuid("rental_id", req.rentalId);
      const page = pageOf(v, req.page);
      check(v);
      const result = await useCases.listCharges(req.rentalId, page);
      return create(ListRentalChargesResponseSchema, { charges: result.items.map(rentalChargeToProto), page: pageResponse(result.nextPageToken) });
    },

    async recordRentalPayment(req, ctx) {
      const v = new Violations().uuid("rental_id", req.rentalId);
      const provider = paymentProviderFromProto(req.provider);
      if (provider === null) v.add("provider", "is required", "REQUIRED");
      else if (provider === undefined) v.add("provider", "unknown payment provider", "UNKNOWN_ENUM_VALUE");
      const amount = moneyOf(v, "amount", req.amount, { required: true, positive: true });
      const kind = req.kind === ProtoPaymentKind.UNSPECIFIED ? "payment" : paymentKindFromProto(req.kind);
      if (kind === undefined || kind === null) v.add("kind", "unknown payment kind", "UNKNOWN_ENUM_VALUE");
      const status = paymentStatusFromProto(req.status);
      if (status === null) v.add("status", "is required", "REQUIRED");
      else if (status === undefined) v.add("status", "unknown payment status", "UNKNOWN_ENUM_VALUE");
      else if (kind !== undefined && kind !== null && !RECORDABLE_STATUSES[kind].includes(status)) {
        const allowed = RECORDABLE_STATUSES[kind].map((s) => s.toUpperCase()).join(", ");
        v.add("status", `a ${kind.toUpperCase()} is recorded as ${allowed}`, "UNSUPPORTED_VALUE");
      }
      const externalReference = optionalText(v, "external_reference", req.externalReference, MAX_EXTERNAL_REFERENCE);
      check(v);
      const result = await useCases.recordPayment(
        { rentalId: req.rentalId, kind: kind!, provider: provider!, amount: amount!, status: status!, externalReference },
        ctx.caller,
      );
      return create(RecordRentalPaymentResponseSchema, { payment: rentalPaymentToProto(result.payment), rental: rentalToProto(result.rental) });
    },

    async updateRentalPaymentStatus(req, ctx) {
      const v = new Violations().uuid("payment_id", req.paymentId);
      const rowVersion = expectedRowVersion(v, req.expectedRowVersion);
      const targetStatus = paymentStatusFromProto(req.targetStatus);
      if (targetStatus === null) v.add("target_status", "is required", "REQUIRED");
      else if (targetStatus === undefined) v.add("target_status", "unknown payment status", "UNKNOWN_ENUM_VALUE");
      // Which transitions exist is the use case's state machine; the amount is the rental's currency (checked there).
      const reason = optionalText(v, "reason", req.reason, MAX_REASON);
      const externalReference = optionalText(v, "external_reference", req.externalReference, MAX_EXTERNAL_REFERENCE);
      const amount = moneyOf(v, "amount", req.amount, { positive: true });
      check(v);
      const result = await useCases.updatePaymentStatus(
        { paymentId: req.paymentId, expectedRowVersion: rowVersion, targetStatus: targetStatus!, reason, externalReference, amount },
        ctx.caller,
      );
      return create(UpdateRentalPaymentStatusResponseSchema, {
        payment: rentalPaymentToProto(result.payment),
        rental: rentalToProto(result.rental),
      });
    },

    async listRentalPayments(req) {
      const v = new Violations().uuid("rental_id", req.rentalId);
      const page = pageOf(v, req.page);
      check(v);
      const result = await useCases.listPayments(req.rentalId, page);
      return create(ListRentalPaymentsResponseSchema, { payments: result.items.map(rentalPaymentToProto), page: pageResponse(result.nextPageToken) });
    },

    // ---- vehicle timeline ----

    blockVehicle: remoteFirst(async (req: BlockVehicleRequest, ctx) => {
      const v = new Violations();
      const reference = blockReferenceOf(v, "block_reference", req.blockReference);
      const vehicleId = requiredUuid(v, "vehicle_id", req.vehicleId);
      const period = periodOf(v, "period", req.period, { maxDays: MAX_RENTAL_DAYS });
      const reason = requiredText(v, "reason", req.reason, MAX_REASON);
      check(v);
      return useCases.blockVehicle({ reference, vehicleId, period: period!, reason, urgent: req.urgent }, ctx.caller);
    }, async (_req, _ctx, prepared) => {
      const { block, displaced } = await prepared.run();
      return create(BlockVehicleResponseSchema, { block: vehicleBlockToProto(block), displacedRentals: displaced.map(rentalToProto) });
    }),

    async releaseVehicleBlock(req, ctx) {
      const v = new Violations();
      const reference = blockReferenceOf(v, "block_reference", req.blockReference);
      check(v);
      return create(ReleaseVehicleBlockResponseSchema, { block: vehicleBlockToProto(await useCases.releaseBlock(reference, ctx.caller)) });
    },

    async listVehicleTimeline(req) {
      const v = new Violations().uuid("vehicle_id", req.vehicleId);
      const window = periodOf(v, "window", req.window, { maxDays: MAX_RENTAL_DAYS });
      check(v);
      const claims = await useCases.listTimeline(req.vehicleId, window!);
      return create(ListVehicleTimelineResponseSchema, { claims: claims.map(timelineClaimToProto) });
    },

    async setVehicleHomeLocation(req, ctx) {
      const v = new Violations().uuid("vehicle_id", req.vehicleId).uuid("location_id", req.locationId);
      check(v);
      const vehicle = await useCases.setHomeLocation(req.vehicleId, req.locationId, ctx.caller);
      return create(SetVehicleHomeLocationResponseSchema, { vehicle: vehicleSummaryToProto(vehicle) });
    },

    refreshVehicleProjection: remoteFirst(
      () => useCases.refreshVehicleProjection(),
      async (_req: RefreshVehicleProjectionRequest, _ctx, prepared) => create(RefreshVehicleProjectionResponseSchema, { vehicles: await prepared.run() }),
    ),
  });
}
