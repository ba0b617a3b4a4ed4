// Benchmarks only: what the machine is and how busy, and CPU per process.
import { readdirSync, readFileSync } from "node:fs";
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

/** CPU seconds the reaped children of a process used (cutime + cstime), from /proc. */
export function childCpuSecondsOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return 0;
  }
}

/**
 * CPU seconds of every PostgreSQL process on the machine, the exited ones
 * included: a backend's time moves into the postmaster's children's times
 * when it is reaped, so the sum only grows.
 */
export function postgresCpuSeconds(): number {
  let total = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      if (!stat.includes(" (postgres) ")) continue;
      const fields = stat.split(") ")[1]!.split(" ");
      total += (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / 100;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

/** Seconds of a process.cpuUsage() reading (microseconds of user and system time). */
export const cpuSecondsOfUsage = (usage: NodeJS.CpuUsage): number => (usage.user + usage.system) / 1e6;
