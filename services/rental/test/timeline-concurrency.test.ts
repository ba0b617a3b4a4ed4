// Never a double-booking, whatever the load: 64 clients reserve, block,
// extend and cancel overlapping periods on a handful of hot vehicles and
// staff at once, against real PostgreSQL; then SQL checks that no two claims
// of one vehicle and no two assignments of one staff member overlap, and
// every refusal carried its stable reason.
import anyTest, { type TestFn } from "ava";
import pg from "pg";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { ErrorInfoSchema } from "../../../gen/google/rpc/error_details_pb.js";
import { GrpcCallError } from "../../platform/src/grpc/client.js";
import { findDetail } from "../../platform/src/grpc/status.js";
import { DAY, futureBase, HOUR, periodAt, startRentalWorld, type RentalWorld } from "./support.js";

interface Fixture {
  readonly world: RentalWorld;
  readonly vehicles: string[];
  readonly drivers: string[];
  readonly conductors: string[];
  readonly customers: string[];
  readonly location: string;
  readonly plan: string;
}

const test = anyTest as TestFn<Fixture>;

test.before(async (t) => {
  const world = await startRentalWorld();
  const location = await world.newLocation("Europe/Berlin");
  const plan = await world.newPlan();
  const vehicles = await Promise.all(Array.from({ length: 4 }, () => world.newVehicle()));
  const drivers = await Promise.all(Array.from({ length: 3 }, () => world.newStaff("driver")));
  const conductors = [await world.newStaff("conductor")];
  const customers = await Promise.all(Array.from({ length: 4 }, () => world.newCustomer()));
  await world.refreshVehicles();
  t.context = { world, vehicles, drivers, conductors, customers, location, plan };
});

test.after.always(async (t) => {
  await t.context.world?.stop();
});

const reasonOf = (err: unknown): string =>
  err instanceof GrpcCallError ? `${err.code}:${findDetail(err.status, ErrorInfoSchema)?.reason ?? "NONE"}` : `thrown:${String(err)}`;

/** A seeded generator, so a failing interleaving of choices can be replayed (the order of commits cannot). */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = Math.imul(s ^ (s >>> 15), 1 | s);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

// FAILED_PRECONDITION is 9.
// ABORTED (10) ROW_VERSION_MISMATCH: an extension based on a rental another client changed meanwhile.
const EXPECTED_REFUSALS = new Set(["9:VEHICLE_NOT_AVAILABLE", "9:STAFF_NOT_AVAILABLE", "9:INVALID_RENTAL_TRANSITION", "10:ROW_VERSION_MISMATCH"]);

test.serial("64 clients on hot vehicles and staff: no overlap, every refusal with its reason", async (t) => {
  const { world, vehicles, drivers, conductors, customers, location, plan } = t.context;
  const seed = Number(process.env["FLEET_TEST_SEED"] ?? Date.now() % 1_000_000);
  t.log(`seed ${seed} (FLEET_TEST_SEED replays the choices)`);
  const base = futureBase(3);
  const booked: string[] = [];
  const outcomes = new Map<string, number>();
  const count = (key: string) => outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
  const agent = world.asRole("00000000-0000-4000-8000-00000000a9e7", "rental_agent");
  const manager = world.asRole("00000000-0000-4000-8000-00000000f1ee", "fleet_manager");

  const client = async (n: number) => {
    const rnd = random(seed * 100 + n);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    for (let op = 0; op < 8; op += 1) {
      const roll = rnd();
      const start = Math.floor(rnd() * 60);
      const hours = 2 + Math.floor(rnd() * 10);
      try {
        if (roll < 0.6 || booked.length === 0) {
          const { rental } = await world.rental.reserveRental({
            customerId: pick(customers),
            source: {
              case: "terms",
              value: {
                vehicleId: pick(vehicles), period: periodAt(base, start, hours), originLocationId: location, destinationLocationId: location,
                pricingPlanId: plan,
                driverId: rnd() < 0.4 ? pick(drivers) : "",
                conductorId: rnd() < 0.1 ? pick(conductors) : "",
              },
            },
          }, agent);
          booked.push(rental!.id);
          count("reserve:ok");
        } else if (roll < 0.7) {
          await world.rental.blockVehicle({
            blockReference: `load-${seed}-${n}-${op}`, vehicleId: pick(vehicles), period: periodAt(base, start, hours),
            reason: "workshop", urgent: rnd() < 0.25,
          }, manager);
          count("block:ok");
        } else if (roll < 0.85) {
          const id = pick(booked);
          const { rental } = await world.rental.getRental({ rentalId: id }, agent);
          await world.rental.extendRental({
            rentalId: id, expectedRowVersion: rental!.rowVersion, newEndTime: timestampFromDate(new Date(Number(rental!.period!.endTime!.seconds) * 1000 + (1 + Math.floor(rnd() * 6)) * HOUR)),
          }, agent);
          count("extend:ok");
        } else {
          await world.rental.cancelRental({ rentalId: pick(booked), reason: "changed plans" }, agent);
          count("cancel:ok");
        }
      } catch (err) {
        const reason = reasonOf(err);
        count(`refused ${reason}`);
        if (!EXPECTED_REFUSALS.has(reason)) t.fail(`unexpected refusal ${reason}: ${(err as Error).message}`);
      }
    }
  };
  const started = Date.now();
  await Promise.all(Array.from({ length: 64 }, (_, n) => client(n)));
  t.log(`${64 * 8} operations in ${Date.now() - started} ms`, Object.fromEntries([...outcomes].sort()));
  t.true((outcomes.get("reserve:ok") ?? 0) > 10, "enough reservations won to make the checks meaningful");
  t.true([...outcomes.keys()].some((k) => k.includes("VEHICLE_NOT_AVAILABLE")), "the load did collide");

  await assertTimelineConsistent(t, world);
});

test.serial("back-to-back periods are both accepted; one instant of overlap is not", async (t) => {
  const { world, vehicles, customers, location, plan } = t.context;
  const agent = world.asRole("00000000-0000-4000-8000-00000000a9e7", "rental_agent");
  const base = futureBase(20);
  const terms = (start: number, hours: number) => ({
    case: "terms" as const,
    value: { vehicleId: vehicles[0]!, period: periodAt(base, start, hours), originLocationId: location, destinationLocationId: location, pricingPlanId: plan },
  });
  await world.rental.reserveRental({ customerId: customers[0]!, source: terms(0, 2) }, agent);
  await world.rental.reserveRental({ customerId: customers[1]!, source: terms(2, 2) }, agent);
  const overlapping = {
    case: "terms" as const,
    value: {
      vehicleId: vehicles[0]!, originLocationId: location, destinationLocationId: location, pricingPlanId: plan,
      period: { startTime: timestampFromDate(new Date(base + 4 * HOUR - 1000)), endTime: timestampFromDate(new Date(base + 5 * HOUR)) },
    },
  };
  const err = await t.throwsAsync(world.rental.reserveRental({ customerId: customers[2]!, source: overlapping }, agent));
  t.is(reasonOf(err), "9:VEHICLE_NOT_AVAILABLE");
});

test.serial("cancel-then-rebook races leave exactly one winner", async (t) => {
  const { world, vehicles, customers, location, plan } = t.context;
  const agent = world.asRole("00000000-0000-4000-8000-00000000a9e7", "rental_agent");
  const base = futureBase(30);
  for (let round = 0; round < 5; round += 1) {
    const terms = {
      case: "terms" as const,
      value: { vehicleId: vehicles[1]!, period: periodAt(base, round * 24, 8), originLocationId: location, destinationLocationId: location, pricingPlanId: plan },
    };
    const { rental } = await world.rental.reserveRental({ customerId: customers[0]!, source: terms }, agent);
    let cancelled = false;
    const cancel = world.rental.cancelRental({ rentalId: rental!.id, reason: "rebooked" }, agent).then(() => { cancelled = true; });
    const rebook = async (customer: string): Promise<boolean> => {
      for (;;) {
        const cancelledBefore = cancelled;
        try {
          await world.rental.reserveRental({ customerId: customer, source: terms }, agent);
          return true;
        } catch (err) {
          t.is(reasonOf(err), "9:VEHICLE_NOT_AVAILABLE", (err as Error).message);
          if (cancelledBefore) return false;
          await new Promise((r) => setTimeout(r, 5));
        }
      }
    };
    const results = await Promise.all([cancel, ...Array.from({ length: 8 }, (_, i) => rebook(customers[i % customers.length]!))]);
    t.is(results.filter((r) => r === true).length, 1, `round ${round}: exactly one rebooking wins`);
  }
  await assertTimelineConsistent(t, world);
});

/** The invariants in SQL, read straight from rental's database. */
async function assertTimelineConsistent(t: import("ava").ExecutionContext, world: RentalWorld): Promise<void> {
  const db = new pg.Client({ ...world.mesh.rentalDb.config, user: world.mesh.rentalDb.config.user });
  await db.connect();
  try {
    const q = async (sql: string) => Number((await db.query<{ n: string }>(sql)).rows[0]!.n);
    t.is(await q(`SELECT count(*) AS n FROM vehicle_claims a JOIN vehicle_claims b
                   ON a.vehicle_id = b.vehicle_id AND a.ctid < b.ctid AND a.period && b.period`), 0, "no two claims of a vehicle overlap");
    t.is(await q(`SELECT count(*) AS n FROM staff_claims a JOIN staff_claims b
                   ON a.staff_id = b.staff_id AND (a.rental_id, a.role) < (b.rental_id, b.role) AND a.period && b.period`), 0,
      "no two assignments of a staff member overlap");
    t.is(await q(`SELECT count(*) AS n FROM rentals r WHERE r.status IN ('reserved', 'active') AND NOT r.at_risk
                   AND NOT EXISTS (SELECT 1 FROM vehicle_claims c WHERE c.rental_id = r.id AND c.period = r.period)`), 0,
      "every reserved or active rental holds its period, unless marked at risk");
    t.is(await q(`SELECT count(*) AS n FROM vehicle_claims c LEFT JOIN rentals r ON r.id = c.rental_id
                   LEFT JOIN vehicle_blocks b ON b.reference = c.block_reference
                   WHERE (c.rental_id IS NOT NULL AND r.status NOT IN ('reserved', 'active'))
                      OR (c.block_reference IS NOT NULL AND b.released_at IS NOT NULL)`), 0, "no claim outlives what it claims for");
    t.is(await q(`SELECT count(*) AS n FROM rentals r WHERE r.status IN ('reserved', 'active') AND
                   ((r.driver_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM staff_claims s WHERE s.rental_id = r.id AND s.role = 'driver' AND s.staff_id = r.driver_id))
                 OR (r.conductor_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM staff_claims s WHERE s.rental_id = r.id AND s.role = 'conductor' AND s.staff_id = r.conductor_id)))`), 0,
      "every assigned driver and conductor holds the rental's period");
    t.is(await q(`SELECT count(*) AS n FROM rentals a JOIN rentals b ON a.vehicle_id = b.vehicle_id AND a.id < b.id AND a.period && b.period
                   WHERE a.status IN ('reserved', 'active') AND b.status IN ('reserved', 'active') AND NOT a.at_risk AND NOT b.at_risk`), 0,
      "no two rentals of a vehicle overlap unless one was displaced and marked at risk");
    // The RentalReserved row is written by the booking statement itself: it commits with the rental or not at all.
    t.is(await q(`SELECT count(*) AS n FROM rentals r WHERE (SELECT count(*) FROM outbox_events o
                   WHERE o.aggregate_id = r.id AND o.event_type = 'fleetmesh.rental.v1.RentalReserved') <> 1`), 0,
      "every rental has exactly one RentalReserved event");
    t.is(await q(`SELECT count(*) AS n FROM outbox_events o WHERE o.event_type = 'fleetmesh.rental.v1.RentalReserved'
                   AND NOT EXISTS (SELECT 1 FROM rentals r WHERE r.id = o.aggregate_id)`), 0,
      "no RentalReserved event of a reservation that rolled back");
  } finally {
    await db.end();
  }
  void DAY;
}
