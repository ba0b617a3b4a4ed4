import type { JobDefinition } from "../../../../platform/src/scheduler.js";
import type { ReportingUseCases } from "../../app/reporting-use-cases.js";

/**
 * The reporting job on the kit's scheduler: every minute, a new checkpoint
 * of the balance reports once enough journal lines are new (JOB_MIN_LINES).
 * Two runs at once are safe: the builder takes an advisory lock and builds
 * from the latest checkpoint, so the second finds nothing new.
 */
export function reportJobs(useCases: ReportingUseCases, cron = "* * * * *"): JobDefinition[] {
  return [
    {
      name: "ledger.reports.checkpoint",
      cron,
      retryLimit: 1,
      timeoutSeconds: 600,
      handler: async (_data, ctx) => {
        const built = await useCases.buildCheckpoint();
        if (built !== null) {
          ctx.log.info({ position: built.position.toString(), lines: built.lineCount.toString() }, "report checkpoint built");
        }
      },
    },
  ];
}
