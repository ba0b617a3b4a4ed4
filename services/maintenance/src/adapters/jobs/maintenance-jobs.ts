import type { JobDefinition } from "../../../../platform/src/scheduler.js";
import type { MaintenanceUseCases } from "../../app/use-case-api.js";
import type { VehicleProjection } from "../../app/ports.js";

/**
 * Maintenance's recurring jobs on the kit's scheduler (one run per
 * occurrence across replicas). The due-plan sweep is safe to run twice at
 * once anyway: a due point's job id is derived from it, so two runs claim the
 * same block in rental and the second insert is a no-op (unique due_key).
 */
export function maintenanceJobs(
  useCases: MaintenanceUseCases,
  projection: VehicleProjection,
  crons: { readonly plans: string; readonly reconcile: string },
  now: () => Date = () => new Date(),
): JobDefinition[] {
  return [
    {
      name: "maintenance.plans.due",
      cron: crons.plans,
      handler: async (_data, ctx) => {
        const created = await useCases.createDueJobs(now());
        if (created > 0) ctx.log.info({ jobs: created }, "preventive jobs created for due plans");
      },
    },
    {
      name: "maintenance.blocks.reconcile",
      cron: crons.reconcile,
      handler: async (_data, ctx) => {
        const released = await useCases.reconcileBlocks(now());
        if (released > 0) ctx.log.warn({ blocks: released }, "blocks without a job released in rental");
      },
    },
    {
      // Topics keep 7 days: an empty copy of the fleet is rebuilt from fleet itself.
      name: "maintenance.vehicle_projection.backfill",
      cron: crons.reconcile,
      handler: async (_data, ctx) => {
        if ((await projection.count()) > 0) return;
        ctx.log.info({ vehicles: await useCases.refreshVehicleProjection() }, "vehicle projection was empty: backfilled from fleet");
      },
    },
  ];
}
