// Benchmarks only: ghz (github.com/bojand/ghz, a Go gRPC load generator)
// as a closed-loop caller, the gRPC counterpart of pgbench's native client,
// beside the kit's Node client. Both spend CPU on the cores the services
// share: 0.4-1.0 ms per call, against pgbench's 0.15 ms (docs/rentals.md
// "Benchmark").
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { repoRoot } from "../../services/platform/src/db.js";

/** Where scripts/bench.sh installs it (scripts/infra/tools.sh ghz); GHZ overrides. */
export const ghzPath = (): string => process.env["GHZ"] ?? resolve(repoRoot, ".local/bin/ghz");
export const ghzAvailable = (): boolean => existsSync(ghzPath());

export interface GhzRun {
  readonly address: string;
  /** Fully qualified: package.Service.Method (resolved through the server's reflection). */
  readonly call: string;
  readonly clients: number;
  readonly seconds: number;
  /** A JSON array of requests (proto JSON), sent round robin: call k sends element k modulo its length. */
  readonly dataFile: string;
  /** Metadata as a JSON object, a Go template run per call (e.g. an idempotency key from {{.RequestNumber}}). */
  readonly metadataTemplate: string;
}

export interface GhzResult {
  /** Answers per second; calls ghz cut off when the time was up are not answers. */
  readonly rate: number;
  /** Calls in flight when the time was up, which ghz ends by closing the connection. */
  readonly cutOff: number;
  /** Milliseconds of every answer, ascending. */
  readonly latencies: number[];
  /** Milliseconds of the answers by outcome, ascending: "OK", or the status name and the error message. */
  readonly byOutcome: ReadonlyMap<string, number[]>;
}

/** How ghz's own closing of the connection at the end of the run shows on the calls still in flight. */
const CUT_OFF = /use of closed network connection|client connection is closing/;

interface GhzReport {
  readonly count: number;
  readonly total: number;
  readonly rps: number;
  readonly details?: ReadonlyArray<{ readonly latency: number; readonly status: string; readonly error: string }>;
}

/** Runs ghz for `seconds` with `clients` concurrent callers on one connection, as the Node client does. */
export async function runGhz(run: GhzRun): Promise<GhzResult> {
  const args = [
    "--insecure", "--call", run.call, "--concurrency", String(run.clients), "--connections", "1",
    "--duration", `${run.seconds}s`, "--timeout", "15s", "--format", "json",
    "--data-file", run.dataFile, "--metadata", run.metadataTemplate, run.address,
  ];
  const child = spawn(ghzPath(), args, { stdio: ["ignore", "pipe", "pipe"] });
  const out: Buffer[] = [];
  let err = "";
  child.stdout.on("data", (d: Buffer) => out.push(d));
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  const [code] = (await once(child, "exit")) as [number | null];
  const text = Buffer.concat(out).toString("utf8");
  let report: GhzReport;
  try {
    report = JSON.parse(text) as GhzReport;
  } catch {
    throw new Error(`ghz failed (exit ${code}): ${err.slice(0, 2000)} ${text.slice(0, 2000)}`);
  }
  const byOutcome = new Map<string, number[]>();
  const latencies: number[] = [];
  let cutOff = 0;
  for (const d of report.details ?? []) {
    if (d.status === "Unavailable" && CUT_OFF.test(d.error)) {
      cutOff += 1;
      continue;
    }
    const ms = d.latency / 1e6;
    latencies.push(ms);
    const outcome = d.status === "OK" ? "OK" : `${d.status} ${d.error}`;
    const list = byOutcome.get(outcome) ?? [];
    list.push(ms);
    byOutcome.set(outcome, list);
  }
  if (latencies.length === 0) throw new Error(`ghz reported no calls: ${err.slice(0, 2000)}`);
  latencies.sort((a, b) => a - b);
  for (const list of byOutcome.values()) list.sort((a, b) => a - b);
  return { rate: latencies.length / (report.total / 1e9), cutOff, latencies, byOutcome };
}
