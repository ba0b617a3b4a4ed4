import type { Caller } from "../../../platform/src/auth.js";
import { actorOf } from "../../../platform/src/actor.js";
import { DomainError, invalidArgument } from "../../../platform/src/errors.js";
import { currencyMismatch, money, sumMoney, type Money } from "../../../platform/src/money.js";
import { hasPermission } from "../../../platform/src/ownership.js";
import { decodePageToken, decodeTimeIdToken, pageSize, toPage, toTimeIdPage } from "../../../platform/src/paging.js";
import {
  blockNotFound,
  fieldError,
  invalidPaymentTransition,
  invalidTransition,
  locationNotFound,
  odometerDecreasing,
  paymentNotFound,
  planArchived,
  planNotFound,
  quoteExpired,
  quoteNotFound,
  quoteOfAnotherCustomer,
  refundExceedsCaptured,
  rentalNotFound,
  staffTypeMismatch,
  staleRowVersion,
  userNotFound,
  vehicleDecommissioned,
  vehicleNotAvailable,
  vehicleNotFound,
} from "../domain/errors.js";
import type { RentalEvent } from "../domain/events.js";
import { isTimeZone, rentalDays } from "../domain/local-calendar.js";
import type {
  ChargeDraft,
  Location,
  PaymentStatus,
  Period,
  PricingPlan,
  Quote,
  Rental,
  RentalCharge,
  RentalPayment,
  RentalTerms,
  StaffRate,
  VehicleBlock,
  VehicleView,
} from "../domain/model.js";
import {
  cancellationFee,
  completionCharges,
  extensionCharges,
  MAX_RENTAL_DAYS,
  noShowFee,
  priceTerms,
  reservationCharges,
  type PricingContext,
} from "../domain/pricing.js";
import type { Outbox } from "./ports-outbox.js";
import type {
  CatalogRepository,
  Clock,
  FleetDirectory,
  IdGenerator,
  PaymentProviderPort,
  PersonDirectory,
  QuoteRepository,
  RentalRepository,
  Timeline,
  UnitOfWork,
  VehicleProjection,
} from "./ports.js";
import type { ChargeInput, FleetVehicleFact, Prepared, RentalUseCases, RentalWithCharges, VehicleAvailability } from "./use-case-api.js";

/** Tunables from the service's config (docs/rentals.md). */
export interface RentalPolicy {
  /** How long a quote can be reserved. */
  readonly quoteTtlMinutes: number;
  /** A reservation not picked up this long after its start becomes a no-show. */
  readonly noShowAfterMinutes: number;
  /** Clock skew tolerated for "not in the past" and "not in the future". */
  readonly clockSkewMinutes: number;
}

export interface RentalDependencies {
  readonly catalog: CatalogRepository;
  readonly vehicles: VehicleProjection;
  readonly quotes: QuoteRepository;
  readonly rentals: RentalRepository;
  readonly timeline: Timeline;
  readonly uow: UnitOfWork;
  readonly outbox: Outbox;
  readonly people: PersonDirectory;
  readonly fleet: FleetDirectory;
  readonly payments: PaymentProviderPort;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly policy: RentalPolicy;
}

const MINUTE = 60_000;
const PLAN_CACHE_MS = 5_000;
const CACHE_ENTRIES = 1_000;
const AGENT_PERMISSION = "rentals.reserve";

const NO_FILTER = { customerId: null, vehicleId: null, driverId: null, statuses: [], overlaps: null, atRiskOnly: false } as const;

const prepared = <R>(run: () => Promise<R>): Prepared<R> => ({ run });
const by = (caller: Caller): string | null => (caller.anonymous || caller.subject === "" ? null : caller.subject);
const userBy = (caller: Caller): string | null => actorOf(caller).userId;
const zero = (currency: string): Money => money(0n, currency);

/** Which claims end with the rental's status: every status but RESERVED and ACTIVE frees the timeline. */
const HOLDS_TIMELINE = new Set<Rental["status"]>(["reserved", "active"]);

export function createRentalUseCases(deps: RentalDependencies): RentalUseCases {
  const { catalog, vehicles, quotes, rentals, timeline, uow, outbox, people, fleet, payments, clock, ids, policy } = deps;

  // ---- reads shared by several use cases ---------------------------------

  const requireLocation = async (id: string): Promise<Location> => (await catalog.findLocation(id)) ?? throwError(locationNotFound(id));
  const requirePlan = async (id: string, quotable: boolean): Promise<PricingPlan> => {
    const plan = (await catalog.findPlan(id)) ?? throwError(planNotFound(id));
    if (quotable && plan.archivedAt !== null) throw planArchived(id);
    return plan;
  };

  // Quotes and reservations read the same few plans and locations all day.
  // Locations never change (there is no update) and a plan's rates never do;
  // only archiving does, so a plan is reused for PLAN_CACHE_MS at most: an
  // archived plan may still be reserved for that long. Reads inside
  // transactions (archiving, completion) always go to the database.
  const locationCache = new Map<string, Location>();
  const planCache = new Map<string, { readonly plan: PricingPlan; readonly until: number }>();
  const locationForPricing = async (id: string): Promise<Location> => {
    const hit = locationCache.get(id);
    if (hit !== undefined) return hit;
    const location = await requireLocation(id);
    if (locationCache.size >= CACHE_ENTRIES) locationCache.clear();
    locationCache.set(id, location);
    return location;
  };
  const planForPricing = async (id: string): Promise<PricingPlan> => {
    const now = clock.now().getTime();
    const hit = planCache.get(id);
    const plan = hit !== undefined && hit.until > now ? hit.plan : await requirePlan(id, false);
    if (hit?.plan !== plan) {
      if (planCache.size >= CACHE_ENTRIES) planCache.clear();
      planCache.set(id, { plan, until: now + PLAN_CACHE_MS });
    }
    if (plan.archivedAt !== null) throw planArchived(id);
    return plan;
  };

  /** The projection, else fleet itself (a vehicle registered a moment ago whose event is on its way). */
  const requireVehicle = async (vehicleId: string): Promise<VehicleView> => {
    let vehicle = await vehicles.find(vehicleId);
    if (vehicle === null) {
      const fact = await fleet.vehicle(vehicleId);
      if (fact === null) throw vehicleNotFound(vehicleId);
      await vehicles.upsert(fact, clock.now());
      vehicle = await vehicles.find(vehicleId);
      if (vehicle === null) throw vehicleNotFound(vehicleId);
    }
    if (vehicle.status === "decommissioned") throw vehicleDecommissioned(vehicleId);
    return vehicle;
  };

  /**
   * requireVehicle and whether a claim overlaps `period`, in one read when
   * the projection has the vehicle (always but for one registered a moment ago).
   */
  const requireVehicleFor = async (vehicleId: string, period: Period): Promise<{ readonly vehicle: VehicleView; readonly claimed: boolean }> => {
    const found = await vehicles.findForPeriod(vehicleId, period);
    if (found === null) {
      const vehicle = await requireVehicle(vehicleId);
      return { vehicle, claimed: (await timeline.overlapping(vehicleId, period)).length > 0 };
    }
    if (found.vehicle.status === "decommissioned") throw vehicleDecommissioned(vehicleId);
    return found;
  };

  const requireCustomer = async (customerId: string): Promise<void> => {
    const user = await people.user(customerId);
    if (user === null || !user.active) throw userNotFound(customerId);
  };

  const requireStaff = async (userId: string | null, role: "driver" | "conductor"): Promise<StaffRate | null> => {
    if (userId === null) return null;
    const profile = await people.staffProfile(userId);
    if (profile === null || profile.staffType !== role) throw staffTypeMismatch(userId, role.toUpperCase());
    return { userId, dailyRate: profile.dailyRate };
  };

  const checkPeriodStart = (period: Period, field: string): void => {
    const earliest = clock.now().getTime() - policy.clockSkewMinutes * MINUTE;
    if (period.start.getTime() < earliest) throw fieldError(field, "must not be in the past", "IN_THE_PAST");
  };

  const checkRentalLength = (period: Period, timeZone: string, field: string): void => {
    if (rentalDays(period, timeZone) > MAX_RENTAL_DAYS) throw fieldError(field, `must be at most ${MAX_RENTAL_DAYS} rental days`, "OUT_OF_RANGE");
  };

  const pricingContext = (plan: PricingPlan, timeZone: string, driver: StaffRate | null, conductor: StaffRate | null): PricingContext => {
    for (const staff of [driver, conductor]) {
      if (staff?.dailyRate && staff.dailyRate.currency !== plan.rates.currency) throw currencyMismatch(plan.rates.currency, staff.dailyRate.currency);
    }
    return { rates: plan.rates, timeZone, driver, conductor };
  };

  const rentalContext = async (rental: Rental): Promise<PricingContext> => {
    const plan = await requirePlan(rental.pricingPlanId, false);
    const staff = (userId: string | null, rate: Money | null): StaffRate | null => (userId === null ? null : { userId, dailyRate: rate });
    return pricingContext(plan, rental.timeZone, staff(rental.driverId, rental.driverDailyRate), staff(rental.conductorId, rental.conductorDailyRate));
  };

  const toCharges = (rentalId: string, drafts: readonly ChargeDraft[], createdBy: string | null): RentalCharge[] => {
    const now = clock.now();
    return drafts.map((d) => ({ ...d, id: ids.newId(), rentalId, createdAt: now, createdBy }));
  };

  const withCharges = (rental: Rental, added: readonly RentalCharge[], now: Date, caller: string | null): Rental => ({
    ...rental,
    chargesTotal: sumMoney([rental.chargesTotal, ...added.map((c) => c.amount)], rental.currency),
    updatedAt: now,
    updatedBy: caller,
  });

  /** Writes the rental with the next row version; a concurrent change is ROW_VERSION_MISMATCH. */
  const save = async (next: Rental, current: Rental): Promise<Rental> => {
    const saved = { ...next, rowVersion: current.rowVersion + 1n };
    if (!(await rentals.update(saved, current.rowVersion))) throw staleRowVersion("rental", current.id);
    return saved;
  };

  const lockRental = async (id: string, expectedRowVersion: bigint): Promise<Rental> => {
    const rental = (await rentals.findForUpdate(id)) ?? throwError(rentalNotFound(id));
    if (expectedRowVersion !== 0n && expectedRowVersion !== rental.rowVersion) throw staleRowVersion("rental", id);
    return rental;
  };

  /** Customer, assigned staff, or the client that created it (a partner). */
  const isOwnRental = (rental: Rental, caller: Caller): boolean =>
    !caller.anonymous && caller.subject !== "" &&
    [rental.customerId, rental.driverId, rental.conductorId, rental.createdBy].includes(caller.subject);

  const releaseClaims = async (rental: Rental): Promise<void> => {
    await timeline.releaseRentalClaim(rental.id);
    await timeline.releaseStaffClaims(rental.id);
  };

  const emit = (event: RentalEvent): Promise<void> => outbox.append(event);

  // ---- quotes and reservations --------------------------------------------

  interface PricedReservation {
    readonly terms: RentalTerms;
    readonly plan: PricingPlan;
    readonly origin: Location;
    readonly drafts: readonly ChargeDraft[];
    readonly deposit: Money | null;
    readonly driver: StaffRate | null;
    readonly conductor: StaffRate | null;
    readonly quote: Quote | null;
    /** A claim overlapped the period when the vehicle was read (advisory: refused before any transaction). */
    readonly claimed: boolean;
  }

  const priceFromTerms = async (terms: RentalTerms): Promise<{ priced: ReturnType<typeof priceTerms>; plan: PricingPlan; origin: Location; driver: StaffRate | null; conductor: StaffRate | null; claimed: boolean }> => {
    if (terms.driverId !== null && terms.driverId === terms.conductorId) {
      throw fieldError("terms.conductor_id", "must differ from the driver", "SAME_AS_DRIVER");
    }
    checkPeriodStart(terms.period, "terms.period.start_time");
    const [plan, origin] = await Promise.all([planForPricing(terms.pricingPlanId), locationForPricing(terms.originLocationId)]);
    await locationForPricing(terms.destinationLocationId);
    checkRentalLength(terms.period, origin.attributes.timeZone, "terms.period.end_time");
    const { claimed } = await requireVehicleFor(terms.vehicleId, terms.period);
    const [driver, conductor] = await Promise.all([requireStaff(terms.driverId, "driver"), requireStaff(terms.conductorId, "conductor")]);
    const context = pricingContext(plan, origin.attributes.timeZone, driver, conductor);
    return { priced: priceTerms(context, terms.period, terms.estimatedDistanceKm), plan, origin, driver, conductor, claimed };
  };

  const customerOf = (requested: string | null, caller: Caller): string => {
    if (requested === null || requested === caller.subject) return caller.subject;
    if (!hasPermission(caller, AGENT_PERMISSION)) {
      throw new DomainError("permission_denied", "PERMISSION_DENIED", "you can only ask for quotes and rentals for yourself");
    }
    return requested;
  };

  const reservationSource = async (command: Parameters<RentalUseCases["reserve"]>[0], customerId: string, mode: "staff" | "own"): Promise<PricedReservation> => {
    if ("quoteId" in command.source) {
      const quote = await quotes.find(command.source.quoteId);
      if (quote === null) throw quoteNotFound(command.source.quoteId);
      if (quote.customerId !== customerId) throw mode === "own" ? quoteNotFound(quote.id) : quoteOfAnotherCustomer(quote.id);
      if (quote.usedByRentalId !== null || quote.expiresAt.getTime() <= clock.now().getTime()) throw quoteExpired(quote.id);
      for (const [field, given, quoted] of [["driver_id", command.driverId, quote.terms.driverId], ["conductor_id", command.conductorId, quote.terms.conductorId]] as const) {
        if (given !== null && given !== quoted) throw fieldError(field, "must be empty or the quote's own (staff are priced in the quote)", "QUOTE_MISMATCH");
      }
      const [plan, origin] = await Promise.all([planForPricing(quote.terms.pricingPlanId), locationForPricing(quote.terms.originLocationId)]);
      const { claimed } = await requireVehicleFor(quote.terms.vehicleId, quote.terms.period);
      const [driver, conductor] = await Promise.all([
        requireStaff(quote.terms.driverId, "driver"),
        requireStaff(quote.terms.conductorId, "conductor"),
      ]);
      // The quote's price is kept: its lines, not today's rates.
      return {
        terms: quote.terms, plan, origin, quote, driver, conductor, deposit: quote.deposit, claimed,
        drafts: quote.lines.filter((l) => !l.estimated).map(({ estimated: _estimated, ...line }) => line),
      };
    }
    const terms: RentalTerms = {
      ...command.source.terms,
      driverId: command.source.terms.driverId ?? command.driverId,
      conductorId: command.source.terms.conductorId ?? command.conductorId,
    };
    const { priced, plan, origin, driver, conductor, claimed } = await priceFromTerms(terms);
    return { terms, plan, origin, quote: null, driver, conductor, deposit: priced.deposit, drafts: reservationCharges(priced), claimed };
  };

  // ---- payments --------------------------------------------------------------

  const remaining = (p: RentalPayment): bigint => p.amount.amountMinor - p.refundedAmount.amountMinor - p.appliedAmount.amountMinor;

  interface PaymentChange {
    readonly payment: RentalPayment;
    readonly paidDelta: bigint;
    readonly changeAmount: Money;
    readonly refundedAmount: Money | null;
  }

  const changePayment = (p: RentalPayment, target: PaymentStatus, amount: Money | null, now: Date, actor: string | null, reason: string, reference: string): PaymentChange => {
    if (amount !== null && amount.currency !== p.amount.currency) throw currencyMismatch(p.amount.currency, amount.currency);
    const refusal = invalidPaymentTransition(p.id, p.status, target);
    const base = {
      ...p, status: target, updatedAt: now, updatedBy: actor, statusReason: reason || p.statusReason,
      externalReference: reference || p.externalReference,
    };
    const cur = p.amount.currency;
    const part = (): bigint => {
      const left = remaining(p);
      const wanted = amount?.amountMinor ?? left;
      if (wanted <= 0n) throw fieldError("amount.amount_minor", "must be positive", "OUT_OF_RANGE");
      if (wanted > left) throw refundExceedsCaptured(p.id, left);
      return wanted;
    };
    const counts = p.kind === "payment";
    switch (`${p.kind}:${p.status}->${target}`) {
      case "payment:pending->captured":
      case "deposit:held->captured":
        return { payment: base, paidDelta: counts ? p.amount.amountMinor : 0n, changeAmount: p.amount, refundedAmount: null };
      case "payment:pending->failed":
      case "deposit:held->failed":
      case "deposit:held->released":
        return { payment: base, paidDelta: 0n, changeAmount: p.amount, refundedAmount: null };
      case "payment:captured->refunded":
      case "deposit:captured->refunded": {
        const refund = part();
        const refunded = p.refundedAmount.amountMinor + refund;
        // A partial refund keeps the payment CAPTURED: the rest is still held.
        const fully = refunded + p.appliedAmount.amountMinor === p.amount.amountMinor;
        return {
          payment: { ...base, status: fully ? (p.kind === "deposit" && p.appliedAmount.amountMinor > 0n ? "settled" : "refunded") : "captured", refundedAmount: money(refunded, cur) },
          paidDelta: counts ? -refund : 0n, changeAmount: money(refund, cur), refundedAmount: money(refund, cur),
        };
      }
      case "deposit:captured->settled": {
        // Applies `amount` (default: all that is left) to the charges and refunds the rest.
        const applied = part();
        const rest = remaining(p) - applied;
        return {
          payment: { ...base, appliedAmount: money(p.appliedAmount.amountMinor + applied, cur), refundedAmount: money(p.refundedAmount.amountMinor + rest, cur) },
          paidDelta: applied, changeAmount: money(applied, cur), refundedAmount: money(rest, cur),
        };
      }
      default:
        throw refusal;
    }
  };

  // ---- the use cases ------------------------------------------------------------

  return {
    async createLocation(attributes, caller) {
      if (!isTimeZone(attributes.timeZone)) throw fieldError("attributes.time_zone", "must be an IANA time zone such as Europe/Berlin", "UNKNOWN_TIME_ZONE");
      const now = clock.now();
      const location: Location = { id: ids.newId(), attributes, rowVersion: 1n, createdAt: now, updatedAt: now, createdBy: userBy(caller), updatedBy: userBy(caller) };
      await uow.run(() => catalog.insertLocation(location));
      return location;
    },
    getLocation: requireLocation,
    async listLocations(type, page) {
      const limit = pageSize(page.pageSize);
      const query = `locations|${type ?? ""}`;
      const after = decodePageToken(page.pageToken, query, 2);
      const rows = await catalog.listLocations(type, limit + 1, after === null ? null : { name: after[0]!, id: after[1]! });
      return toPage(rows, limit, query, (l) => [l.attributes.name, l.id]);
    },

    async createPricingPlan(command, caller) {
      const now = clock.now();
      const plan: PricingPlan = {
        id: ids.newId(), name: command.name, description: command.description, rates: command.rates, archivedAt: null,
        rowVersion: 1n, createdAt: now, updatedAt: now, createdBy: userBy(caller), updatedBy: userBy(caller),
      };
      await uow.run(() => catalog.insertPlan(plan));
      return plan;
    },
    getPricingPlan: (id) => requirePlan(id, false),
    async listPricingPlans(filter, page) {
      const limit = pageSize(page.pageSize);
      const query = `plans|${filter.includeArchived}|${filter.currency ?? ""}`;
      const after = decodePageToken(page.pageToken, query, 2);
      const rows = await catalog.listPlans(filter, limit + 1, after === null ? null : { name: after[0]!, id: after[1]! });
      return toPage(rows, limit, query, (p) => [p.name, p.id]);
    },
    async archivePricingPlan(id, expectedRowVersion, caller) {
      return uow.run(async () => {
        const plan = await requirePlan(id, false);
        if (plan.archivedAt !== null) return plan;
        if (expectedRowVersion !== 0n && expectedRowVersion !== plan.rowVersion) throw staleRowVersion("pricing plan", id);
        return (await catalog.archivePlan(id, plan.rowVersion, clock.now(), userBy(caller))) ?? throwError(staleRowVersion("pricing plan", id));
      });
    },

    async quote(terms, requestedCustomer, caller) {
      const customerId = customerOf(requestedCustomer, caller);
      if (customerId !== caller.subject) await requireCustomer(customerId);
      const { priced, claimed } = await priceFromTerms(terms);
      if (claimed) throw vehicleNotAvailable(terms.vehicleId);
      return prepared(async () => {
        const now = clock.now();
        const quote: Quote = {
          id: ids.newId(), terms, customerId, lines: priced.lines, total: priced.total, deposit: priced.deposit,
          hourly: priced.hourly, rentalDays: priced.rentalDays,
          expiresAt: new Date(now.getTime() + policy.quoteTtlMinutes * MINUTE), createdAt: now, createdBy: by(caller), usedByRentalId: null,
        };
        await uow.run(() => quotes.insert(quote));
        return quote;
      });
    },

    async reserve(command, caller, mode) {
      const customerId = mode === "own" ? caller.subject : command.customerId;
      if (customerId === null || customerId === "") throw fieldError("customer_id", "is required", "REQUIRED");
      if (mode === "staff") await requireCustomer(customerId);
      const source = await reservationSource(command, customerId, mode);
      // Advisory, like a quote: a slot taken already (seen when the vehicle
      // was read) is refused without a transaction. What another request
      // takes meanwhile, the constraint refuses.
      if (source.claimed) throw vehicleNotAvailable(source.terms.vehicleId);
      return prepared(async () => uow.run(async () => {
        const now = clock.now();
        const { terms, plan, origin } = source;
        const rentalId = ids.newId();
        const charges = toCharges(rentalId, source.drafts, null);
        const rental: Rental = {
          id: rentalId, vehicleId: terms.vehicleId, customerId, driverId: terms.driverId, conductorId: terms.conductorId,
          period: terms.period, originLocationId: terms.originLocationId, destinationLocationId: terms.destinationLocationId,
          pricingPlanId: plan.id, quoteId: source.quote?.id ?? null, status: "reserved", currency: plan.rates.currency,
          timeZone: origin.attributes.timeZone,
          chargesTotal: sumMoney(charges.map((c) => c.amount), plan.rates.currency), paidTotal: zero(plan.rates.currency),
          deposit: source.deposit, pickupTime: null, pickupOdometerKm: null, returnTime: null, returnOdometerKm: null,
          returnLocationId: null, notes: command.notes, cancelReason: null, cancelTime: null, noShowTime: null,
          atRisk: false, atRiskReason: null, overdueNotifiedAt: null,
          driverDailyRate: source.driver?.dailyRate ?? null, conductorDailyRate: source.conductor?.dailyRate ?? null,
          rowVersion: 1n, createdAt: now, updatedAt: now, createdBy: by(caller), updatedBy: by(caller),
        };
        // The rental, its claims, its charges and the RentalReserved outbox row in one statement.
        await timeline.bookNewRental(rental, charges, { type: "RentalReserved", rental, charges });
        if (source.quote !== null && !(await quotes.markUsed(source.quote.id, rental.id))) throw quoteExpired(source.quote.id);
        return { rental, charges };
      }));
    },

    async activate(command, caller) {
      const driver = await requireStaff(command.driverId, "driver");
      return prepared(() => uow.run(async () => {
        const now = clock.now();
        const rental = await lockRental(command.rentalId, command.expectedRowVersion);
        if (rental.status !== "reserved") throw invalidTransition(rental.id, rental.status, "activate");
        const pickupTime = command.pickupTime ?? now;
        if (pickupTime.getTime() > now.getTime() + policy.clockSkewMinutes * MINUTE) throw fieldError("pickup_time", "must not be in the future", "IN_THE_FUTURE");
        if (pickupTime.getTime() >= rental.period.end.getTime()) throw fieldError("pickup_time", "must be before the booked end", "OUT_OF_RANGE");
        const vehicle = await vehicles.find(rental.vehicleId);
        if (vehicle?.status === "decommissioned") throw vehicleDecommissioned(rental.vehicleId);
        if (vehicle?.status === "under_maintenance") throw vehicleNotAvailable(rental.vehicleId, "fleet reports it under maintenance");
        // "Rented" in fleet may be the previous rental's return still on its way
        // (fleet orders those events itself); only another ACTIVE rental here
        // means someone else has the vehicle.
        const holders = await rentals.list({ ...NO_FILTER, vehicleId: rental.vehicleId, statuses: ["active"] }, 1, null);
        if (holders.length > 0) throw vehicleNotAvailable(rental.vehicleId, "another rental has it");
        if (rental.atRisk) {
          // An urgent block displaced its claim: hand over only if the vehicle is free again.
          const claims = await timeline.overlapping(rental.vehicleId, rental.period);
          if (!claims.some((c) => c.kind === "rental" && c.reference === rental.id)) await timeline.claimVehicleForRental(rental.vehicleId, rental.id, rental.period);
        }
        let next: Rental = { ...rental, status: "active", pickupTime, pickupOdometerKm: command.pickupOdometerKm, updatedAt: now, updatedBy: by(caller), atRisk: false, atRiskReason: null };
        if (driver !== null && driver.userId !== rental.driverId) {
          if (rental.driverId !== null) await timeline.releaseStaffClaim(rental.id, "driver");
          await timeline.claimStaff(driver.userId, "driver", rental.id, rental.period);
          next = { ...next, driverId: driver.userId, driverDailyRate: driver.dailyRate };
        }
        const saved = await save(next, rental);
        await emit({ type: "RentalActivated", rental: saved });
        return saved;
      }));
    },

    async extend(command, caller) {
      return uow.run(async () => {
        const now = clock.now();
        const rental = await lockRental(command.rentalId, command.expectedRowVersion);
        if (!HOLDS_TIMELINE.has(rental.status)) throw invalidTransition(rental.id, rental.status, "extend");
        if (command.newEnd.getTime() <= rental.period.end.getTime()) throw fieldError("new_end_time", "must be after the current end", "OUT_OF_RANGE");
        const period: Period = { start: rental.period.start, end: command.newEnd };
        checkRentalLength(period, rental.timeZone, "new_end_time");
        const context = await rentalContext(rental);
        await timeline.moveRentalClaim(rental.id, period);
        await timeline.moveStaffClaims(rental.id, period);
        const charges = toCharges(rental.id, extensionCharges(context, rental.period, period), by(caller));
        await rentals.insertCharges(charges);
        const saved = await save({ ...withCharges(rental, charges, now, by(caller)), period }, rental);
        await emit({ type: "RentalExtended", rental: saved, previousPeriod: rental.period, charges });
        return { rental: saved, charges };
      });
    },

    async complete(command, caller) {
      return uow.run(async () => {
        const now = clock.now();
        const rental = await lockRental(command.rentalId, command.expectedRowVersion);
        if (rental.status !== "active") throw invalidTransition(rental.id, rental.status, "complete");
        const returnTime = command.returnTime ?? now;
        if (returnTime.getTime() > now.getTime() + policy.clockSkewMinutes * MINUTE) throw fieldError("return_time", "must not be in the future", "IN_THE_FUTURE");
        if (rental.pickupTime !== null && returnTime.getTime() < rental.pickupTime.getTime()) throw fieldError("return_time", "must not be before the pickup", "OUT_OF_RANGE");
        if (command.returnOdometerKm !== null && rental.pickupOdometerKm !== null && command.returnOdometerKm < rental.pickupOdometerKm) {
          throw odometerDecreasing(rental.pickupOdometerKm, command.returnOdometerKm);
        }
        const returnLocationId = command.returnLocationId ?? rental.destinationLocationId;
        if (command.returnLocationId !== null) await requireLocation(command.returnLocationId);
        const context = await rentalContext(rental);
        const computed = completionCharges(context, rental.period, returnTime, rental.pickupOdometerKm, command.returnOdometerKm);
        const extra = command.extraCharges.map((c) => chargeDraft(c, rental.currency));
        const added = [...toCharges(rental.id, computed, null), ...toCharges(rental.id, extra, by(caller))];
        await rentals.insertCharges(added);
        await releaseClaims(rental);
        const notes = command.notes === "" ? rental.notes : rental.notes === "" ? command.notes : `${rental.notes}\n${command.notes}`;
        const saved = await save({
          ...withCharges(rental, added, now, by(caller)), status: "completed", returnTime, returnOdometerKm: command.returnOdometerKm,
          returnLocationId, notes,
        }, rental);
        const charges = await rentals.allCharges(rental.id);
        await emit({ type: "RentalCompleted", rental: saved, charges });
        return { rental: saved, charges };
      });
    },

    async cancel(command, caller, mode) {
      return uow.run(async () => {
        const now = clock.now();
        const rental = await lockRental(command.rentalId, 0n);
        // Someone else's rental reads exactly like an unknown one.
        if (mode === "own" && !(rental.customerId === caller.subject || rental.createdBy === caller.subject)) throw rentalNotFound(rental.id);
        if (command.expectedRowVersion !== 0n && command.expectedRowVersion !== rental.rowVersion) throw staleRowVersion("rental", rental.id);
        if (rental.status !== "reserved") throw invalidTransition(rental.id, rental.status, "cancel");
        const context = await rentalContext(rental);
        const fee = cancellationFee(context, rental.period, now);
        const charges = toCharges(rental.id, fee === null ? [] : [fee], null);
        await rentals.insertCharges(charges);
        await releaseClaims(rental);
        const saved = await save({ ...withCharges(rental, charges, now, by(caller)), status: "cancelled", cancelReason: command.reason, cancelTime: now }, rental);
        await emit({ type: "RentalCancelled", rental: saved, previousStatus: rental.status, charges });
        return saved;
      });
    },

    async assignDriver(command, caller) {
      const driver = await requireStaff(command.driverId, "driver");
      return prepared(() => uow.run(async () => {
        const now = clock.now();
        const rental = await lockRental(command.rentalId, command.expectedRowVersion);
        if (!HOLDS_TIMELINE.has(rental.status)) throw invalidTransition(rental.id, rental.status, "assign a driver to");
        if (driver?.userId === rental.conductorId && driver !== null) throw fieldError("driver_id", "is the rental's conductor", "SAME_AS_CONDUCTOR");
        if ((driver?.userId ?? null) === rental.driverId) return rental;
        if (rental.driverId !== null) await timeline.releaseStaffClaim(rental.id, "driver");
        if (driver !== null) await timeline.claimStaff(driver.userId, "driver", rental.id, rental.period);
        const saved = await save({ ...rental, driverId: driver?.userId ?? null, driverDailyRate: driver?.dailyRate ?? null, updatedAt: now, updatedBy: by(caller) }, rental);
        await emit({ type: "RentalDriverAssigned", rental: saved, previousDriverId: rental.driverId });
        return saved;
      }));
    },

    getRental: async (id) => (await rentals.find(id)) ?? throwError(rentalNotFound(id)),
    async listRentals(filter, page) {
      const limit = pageSize(page.pageSize);
      const query = `rentals|${JSON.stringify(filter)}`;
      const rows = await rentals.list(filter, limit + 1, decodeTimeIdToken(page.pageToken, query));
      return toTimeIdPage(rows, limit, query, (r) => ({ at: r.period.start, id: r.id }));
    },
    async getOwnRental(id, caller) {
      const rental = await rentals.find(id);
      if (rental === null || !isOwnRental(rental, caller)) throw rentalNotFound(id);
      const [charges, payments] = await Promise.all([rentals.allCharges(id), rentals.allPayments(id)]);
      return { rental, charges, payments };
    },
    async listOwnRentals(statuses, page, caller) {
      if (caller.anonymous || caller.subject === "") throw new DomainError("unauthenticated", "UNAUTHENTICATED", "sign in to list your rentals");
      const limit = pageSize(page.pageSize);
      const query = `own|${caller.subject}|${statuses.join(",")}`;
      const rows = await rentals.listOwn({ subject: caller.subject }, statuses, limit + 1, decodeTimeIdToken(page.pageToken, query));
      return toTimeIdPage(rows, limit, query, (r) => ({ at: r.period.start, id: r.id }));
    },

    async checkAvailability(vehicleIds, period) {
      return Promise.all(vehicleIds.map(async (vehicleId): Promise<VehicleAvailability> => {
        const vehicle = await vehicles.find(vehicleId);
        if (vehicle === null) return { vehicleId, available: false, reasons: ["vehicle_not_found"], conflictingPeriods: [] };
        const reasons: VehicleAvailability["reasons"][number][] = [];
        if (vehicle.status === "decommissioned") reasons.push("vehicle_decommissioned");
        if (vehicle.status === "under_maintenance") reasons.push("vehicle_out_of_service");
        const claims = await timeline.overlapping(vehicleId, period);
        if (claims.some((c) => c.kind === "rental")) reasons.push("overlapping_rental");
        if (claims.some((c) => c.kind === "block")) reasons.push("vehicle_blocked");
        return { vehicleId, available: reasons.length === 0, reasons, conflictingPeriods: claims.map((c) => c.period) };
      }));
    },
    async listAvailableVehicles(query, page) {
      if (query.locationId !== null) await requireLocation(query.locationId);
      const limit = pageSize(page.pageSize);
      const key = `available|${JSON.stringify(query)}`;
      const after = decodePageToken(page.pageToken, key, 2);
      const rows = await vehicles.available(query, limit + 1, after === null ? null : { plate: after[0]!, id: after[1]! });
      return toPage(rows, limit, key, (v) => [v.plateNumber, v.vehicleId]);
    },

    async addCharge(rentalId, input, caller) {
      return uow.run(async () => {
        const now = clock.now();
        const rental = await lockRental(rentalId, 0n);
        if (!HOLDS_TIMELINE.has(rental.status)) throw invalidTransition(rental.id, rental.status, "add a charge to");
        const [charge] = toCharges(rental.id, [chargeDraft(input, rental.currency)], by(caller));
        await rentals.insertCharges([charge!]);
        const saved = await save(withCharges(rental, [charge!], now, by(caller)), rental);
        return { charge: charge!, rental: saved };
      });
    },
    async listCharges(rentalId, page) {
      await requireRental(rentals, rentalId);
      const limit = pageSize(page.pageSize);
      const query = `charges|${rentalId}`;
      const rows = await rentals.charges(rentalId, limit + 1, decodeTimeIdToken(page.pageToken, query));
      return toTimeIdPage(rows, limit, query, (c) => ({ at: c.createdAt, id: c.id }));
    },
    async recordPayment(command, caller) {
      return uow.run(async () => {
        const now = clock.now();
        const rental = await lockRental(command.rentalId, 0n);
        if (rental.status === "cancelled") throw invalidTransition(rental.id, rental.status, "record a payment for");
        if (command.amount.currency !== rental.currency) throw currencyMismatch(rental.currency, command.amount.currency);
        const allowed = command.kind === "deposit" ? ["held", "captured"] : ["pending", "captured", "failed"];
        if (!allowed.includes(command.status)) throw fieldError("status", `a ${command.kind} starts ${allowed.join(", ")}`, "INVALID_INITIAL_STATUS");
        const paymentId = ids.newId();
        const { reference } = await payments.open({
          paymentId, kind: command.kind, provider: command.provider, amount: command.amount, status: command.status, externalReference: command.externalReference,
        });
        const payment: RentalPayment = {
          id: paymentId, rentalId: rental.id, kind: command.kind, provider: command.provider, amount: command.amount, status: command.status,
          refundedAmount: zero(rental.currency), appliedAmount: zero(rental.currency), externalReference: reference,
          statusReason: "", rowVersion: 1n, createdAt: now, updatedAt: now, createdBy: by(caller), updatedBy: by(caller),
        };
        await rentals.insertPayment(payment);
        const paid = command.kind === "payment" && command.status === "captured" ? command.amount.amountMinor : 0n;
        const saved = await save({ ...rental, paidTotal: money(rental.paidTotal.amountMinor + paid, rental.currency), updatedAt: now, updatedBy: by(caller) }, rental);
        await emit({ type: "RentalPaymentRecorded", rental: saved, payment });
        return { payment, rental: saved };
      });
    },
    async updatePaymentStatus(command, caller) {
      return uow.run(async () => {
        const now = clock.now();
        const payment = (await rentals.findPaymentForUpdate(command.paymentId)) ?? throwError(paymentNotFound(command.paymentId));
        if (command.expectedRowVersion !== 0n && command.expectedRowVersion !== payment.rowVersion) throw staleRowVersion("payment", payment.id);
        const rental = await lockRental(payment.rentalId, 0n);
        const change = changePayment(payment, command.targetStatus, command.amount, now, by(caller), command.reason, command.externalReference);
        const { reference } = await payments.change({
          paymentId: payment.id, provider: payment.provider, from: payment.status, to: command.targetStatus, amount: change.changeAmount,
          externalReference: command.externalReference,
        });
        // A change keeps the payment's own reference unless the desk gave one for it.
        const next = { ...change.payment, externalReference: command.externalReference !== "" ? reference : payment.externalReference, rowVersion: payment.rowVersion + 1n };
        if (!(await rentals.updatePayment(next, payment.rowVersion))) throw staleRowVersion("payment", payment.id);
        const saved = await save({ ...rental, paidTotal: money(rental.paidTotal.amountMinor + change.paidDelta, rental.currency), updatedAt: now, updatedBy: by(caller) }, rental);
        await emit({ type: "RentalPaymentStatusChanged", rental: saved, payment: next, previousStatus: payment.status, changeAmount: change.changeAmount, refundedAmount: change.refundedAmount });
        return { payment: next, rental: saved };
      });
    },
    async listPayments(rentalId, page) {
      await requireRental(rentals, rentalId);
      const limit = pageSize(page.pageSize);
      const query = `payments|${rentalId}`;
      const rows = await rentals.payments(rentalId, limit + 1, decodeTimeIdToken(page.pageToken, query));
      return toTimeIdPage(rows, limit, query, (p) => ({ at: p.createdAt, id: p.id }));
    },

    async blockVehicle(command, caller) {
      // A vehicle registered a moment ago may not have reached the projection:
      // fleet answers for it, before the transaction.
      if ((await vehicles.find(command.vehicleId)) === null) await requireVehicle(command.vehicleId);
      return prepared(() => uow.run(async () => {
        const now = clock.now();
        const existing = await timeline.findBlockForUpdate(command.reference);
        const samePlace = existing !== null && existing.releasedAt === null && existing.vehicleId === command.vehicleId &&
          existing.period.start.getTime() === command.period.start.getTime() && existing.period.end.getTime() === command.period.end.getTime();
        if (samePlace) return { block: existing, displaced: [] };
        const displaced: Rental[] = [];
        if (command.urgent) {
          for (const rental of await timeline.lockOverlappingReservations(command.vehicleId, command.period)) {
            await timeline.releaseRentalClaim(rental.id);
            const reason = `displaced by urgent block ${command.reference}: ${command.reason}`;
            const saved = await save({ ...rental, atRisk: true, atRiskReason: reason, updatedAt: now, updatedBy: by(caller) }, rental);
            await emit({ type: "RentalMarkedAtRisk", rental: saved, reason, causeRef: command.reference });
            displaced.push(saved);
          }
        }
        const block: VehicleBlock = {
          reference: command.reference, vehicleId: command.vehicleId, period: command.period, reason: command.reason, urgent: command.urgent,
          releasedAt: null, createdAt: existing?.createdAt ?? now, createdBy: existing?.createdBy ?? by(caller),
        };
        if (existing === null) {
          await timeline.insertBlock(block);
        } else {
          // The same reference elsewhere is a reschedule: the old claim goes, the new one must fit.
          if (existing.releasedAt === null) await timeline.releaseBlockClaim(existing.reference);
          await timeline.updateBlock(block);
        }
        await timeline.claimVehicleForBlock(block.vehicleId, block.reference, block.period);
        await emit({ type: "VehicleBlockPlaced", block, displacedRentalIds: displaced.map((r) => r.id) });
        return { block, displaced };
      }));
    },
    async releaseBlock(reference) {
      return uow.run(async () => {
        const block = (await timeline.findBlockForUpdate(reference)) ?? throwError(blockNotFound(reference));
        if (block.releasedAt !== null) return block;
        const released = { ...block, releasedAt: clock.now() };
        await timeline.releaseBlockClaim(reference);
        await timeline.updateBlock(released);
        await emit({ type: "VehicleBlockReleased", block: released });
        return released;
      });
    },
    listTimeline: (vehicleId, window) => timeline.overlapping(vehicleId, window),
    async setHomeLocation(vehicleId, locationId) {
      await requireLocation(locationId);
      return uow.run(async () => {
        if ((await vehicles.find(vehicleId)) === null) throw vehicleNotFound(vehicleId);
        await vehicles.setHome(vehicleId, locationId);
        return (await vehicles.withLocationAt(vehicleId, clock.now())) ?? throwError(vehicleNotFound(vehicleId));
      });
    },
    async refreshVehicleProjection() {
      const facts: FleetVehicleFact[] = [];
      for await (const fact of fleet.allVehicles()) facts.push(fact);
      return prepared(async () => {
        const now = clock.now();
        for (let i = 0; i < facts.length; i += 200) {
          await uow.run(async () => {
            for (const fact of facts.slice(i, i + 200)) await vehicles.upsert(fact, now);
          });
        }
        return facts.length;
      });
    },

    applyFleetVehicle: async (fact) => {
      await vehicles.upsert(fact, clock.now());
    },
    applyFleetVehicleStatus: async (vehicleId, status, fleetRowVersion) => {
      await vehicles.updateStatus(vehicleId, status, fleetRowVersion, clock.now());
    },

    async sweepNoShows(now) {
      return uow.run(async () => {
        const due = await rentals.lockDueNoShows(new Date(now.getTime() - policy.noShowAfterMinutes * MINUTE), 100);
        for (const rental of due) {
          const context = await rentalContext(rental);
          const fee = noShowFee(context);
          const charges = toCharges(rental.id, fee === null ? [] : [fee], null);
          await rentals.insertCharges(charges);
          await releaseClaims(rental);
          const saved = await save({ ...withCharges(rental, charges, now, null), status: "no_show", noShowTime: now }, rental);
          await emit({ type: "RentalMarkedNoShow", rental: saved, charges });
        }
        return due.length;
      });
    },
    async sweepOverdue(now) {
      return uow.run(async () => {
        const overdue = await rentals.lockNewlyOverdue(now, 100);
        for (const rental of overdue) {
          const next = await rentals.nextReservation(rental.vehicleId, rental.period.end);
          await save({ ...rental, overdueNotifiedAt: now, updatedAt: now, updatedBy: null }, rental);
          if (next !== null) {
            const locked = await lockRental(next.id, 0n);
            const reason = `the vehicle's previous rental ${rental.id} is overdue`;
            const saved = await save({ ...locked, atRisk: true, atRiskReason: reason, updatedAt: now, updatedBy: null }, locked);
            await emit({ type: "RentalMarkedAtRisk", rental: saved, reason, causeRef: rental.id });
          }
          await emit({ type: "RentalOverdue", rental, detectedAt: now, nextRentalId: next?.id ?? null });
        }
        return overdue.length;
      });
    },
  };
}

function chargeDraft(input: ChargeInput, currency: string): ChargeDraft {
  if (input.unitPrice.currency !== currency) throw currencyMismatch(currency, input.unitPrice.currency);
  if (input.type !== "discount" && input.unitPrice.amountMinor < 0n) {
    throw invalidArgument([{ field: "charge.unit_price.amount_minor", description: "must not be negative", reason: "OUT_OF_RANGE" }]);
  }
  const quantity = Math.max(1, input.quantity);
  return { ...input, quantity, amount: money(input.unitPrice.amountMinor * BigInt(quantity), currency) };
}

async function requireRental(rentals: RentalRepository, id: string): Promise<Rental> {
  return (await rentals.find(id)) ?? throwError(rentalNotFound(id));
}

function throwError(err: Error): never {
  throw err;
}

export type { RentalWithCharges };
