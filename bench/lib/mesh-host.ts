// Benchmarks only: the mesh in a child process of its own, so the load
// generator's CPU is not charged to the services' event loops. The benchmark
// runs its own file again with --host; the host starts the mesh, writes what
// the load generator needs as one JSON line and runs until its stdin ends.
// Meanwhile a "delay" line on its stdin asks for its event-loop delay since
// the last ask (one JSON line back), which shows the process's own stalls
// (garbage collection, long synchronous work) beside a phase's latencies.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { repoRoot } from "../../services/platform/src/db.js";

/** Extra node flags for the mesh host, e.g. BENCH_HOST_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the services. */
const hostFlags = (process.env["BENCH_HOST_FLAGS"] ?? "").split(" ").filter(Boolean);

/** Event-loop delay in milliseconds: how late timers ran (10 ms resolution). */
export interface LoopDelay {
  readonly p99: number;
  readonly max: number;
}

/** A histogram of this process's event-loop delay; `take()` reads it and starts over. */
export function loopDelayMonitor(): { take(): LoopDelay } {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  return {
    take() {
      const delay = { p99: histogram.percentile(99) / 1e6, max: histogram.max / 1e6 };
      histogram.reset();
      return delay;
    },
  };
}

/** True in the child: the benchmark was started with --host. */
export const isMeshHost = (): boolean => process.argv[2] === "--host";

/** In the child: hands `world` to the load generator, answers "delay" asks, then serves until stdin ends, stops and exits. */
export async function serveWorld(world: unknown, stop: () => Promise<void>): Promise<never> {
  const delay = loopDelayMonitor();
  process.stdout.write(`${JSON.stringify(world)}\n`);
  const lines = createInterface({ input: process.stdin });
  lines.on("line", (line) => {
    if (line === "delay") process.stdout.write(`${JSON.stringify(delay.take())}\n`);
  });
  await once(lines, "close");
  await stop();
  process.exit(0);
}

export interface MeshHost<W> {
  readonly child: ChildProcess;
  readonly pid: number;
  /** What the host's serveWorld handed over. */
  readonly world: W;
  /** The host's event-loop delay since the last ask. */
  loopDelay(): Promise<LoopDelay>;
  /** Ends the host's stdin and waits (up to 10 s) for it to stop its mesh and exit. */
  stop(): Promise<void>;
}

/** Starts `script` (the benchmark's own file) with --host and waits for its world. */
export async function startMeshHost<W>(script: string): Promise<MeshHost<W>> {
  const child = spawn(process.execPath, [...hostFlags, "--enable-source-maps", script, "--host"], { cwd: repoRoot, stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout! });
  // The first line is the world; after it, only delay answers count (a
  // service's log line on stdout is not one).
  let first: ((line: string) => void) | undefined;
  const delayAnswers: Array<(line: string) => void> = [];
  lines.on("line", (line) => {
    if (first) {
      first(line);
      first = undefined;
    } else if (line.startsWith('{"p99":')) {
      delayAnswers.shift()?.(line);
    }
  });
  const firstLine = await new Promise<string>((resolveLine, reject) => {
    first = resolveLine;
    child.once("exit", (code) => reject(new Error(`mesh host exited with ${code}`)));
  });
  return {
    child,
    pid: child.pid ?? 0,
    world: JSON.parse(firstLine) as W,
    async loopDelay() {
      const answer = new Promise<string>((resolveLine) => delayAnswers.push(resolveLine));
      child.stdin!.write("delay\n");
      return JSON.parse(await answer) as LoopDelay;
    },
    stop: async () => {
      child.stdin?.end();
      await Promise.race([once(child, "exit"), new Promise((r) => setTimeout(r, 10_000))]);
    },
  };
}
