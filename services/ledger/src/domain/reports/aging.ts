// Pure: receivables aging buckets.

export type AgingBucket = "CURRENT" | "DAYS_1_TO_30" | "DAYS_31_TO_60" | "DAYS_61_TO_90" | "OVER_90";

/** The bucket of an amount `daysPastDue` days after its due date (0 or less: not yet due). */
export function agingBucketOf(daysPastDue: number): AgingBucket {
  if (daysPastDue <= 0) return "CURRENT";
  if (daysPastDue <= 30) return "DAYS_1_TO_30";
  if (daysPastDue <= 60) return "DAYS_31_TO_60";
  if (daysPastDue <= 90) return "DAYS_61_TO_90";
  return "OVER_90";
}
