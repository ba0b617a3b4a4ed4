// Benchmarks only: what the machine is and how busy, and CPU per process.
import { readFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg } from "node:os";

/** CPU seconds (user + system) a process has used, from /proc; `otherwise` when it cannot be read. */
export function cpuSecondsOf(pid: number | undefined, otherwise = 0): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return otherwise;
  }
}

/** "N cores (CPU model)". */
export const coresAndModel = (): string => `${availableParallelism()} cores (${cpus()[0]?.model ?? "unknown CPU"})`;

/** The 1, 5 and 15 minute load averages, as "0.12 0.34 0.56". */
export const loadAverage = (): string => loadavg().map((l) => l.toFixed(2)).join(" ");
