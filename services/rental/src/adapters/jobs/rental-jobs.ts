import type { JobDefinition } from "../../../../platform/src/scheduler.js";
import type { RentalUseCases } from "../../app/use-case-api.js";
import type { VehicleProjection } from "../../app/ports.js";

/**
 * Rental's recurring jobs on the kit's scheduler. Every replica declares them
 * and one runs each occurrence; the sweeps lock the rows they change (FOR
 * UPDATE SKIP LOCKED) and re-check their status, so a rental becomes a
 * no-show, or is announced overdue, exactly once even if two runs overlap.
 */
export function rentalJobs(useCases: RentalUseCases, projection: VehicleProjection, cron: string, now: () => Date = () => new Date()): JobDefinition[] {
  return [
    {
      name: "rental.no_show.sweep",
      cron,
      handler: async (_data, ctx) => {
        let n = 0;
        for (let swept = -1; swept !== 0; n += swept) swept = await useCases.sweepNoShows(now());
        if (n > 0) ctx.log.info({ rentals: n }, "reservations marked no-show");
      },
    },
    {
      name: "rental.overdue.sweep",
      cron,
      handler: async (_data, ctx) => {
        let n = 0;
        for (let swept = -1; swept !== 0; n += swept) swept = await useCases.sweepOverdue(now());
        if (n > 0) ctx.log.info({ rentals: n }, "active rentals announced overdue");
      },
    },
    {
      // Topics keep 7 days: a new rental database (or one restored empty)
      // cannot rebuild its copy of the fleet from events alone.
      name: "rental.vehicle_projection.backfill",
      cron,
      handler: async (_data, ctx) => {
        if ((await projection.count()) > 0) return;
        const written = await (await useCases.refreshVehicleProjection()).run();
        ctx.log.info({ vehicles: written }, "vehicle projection was empty: backfilled from fleet");
      },
    },
  ];
}
