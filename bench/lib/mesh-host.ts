// Benchmarks only: the mesh in a child process of its own, so the load
// generator's CPU is not charged to the services' event loops. The benchmark
// runs its own file again with --host; the host starts the mesh, writes what
// the load generator needs as one JSON line and runs until its stdin ends.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { repoRoot } from "../../services/platform/src/db.js";

/** Extra node flags for the mesh host, e.g. BENCH_HOST_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the services. */
const hostFlags = (process.env["BENCH_HOST_FLAGS"] ?? "").split(" ").filter(Boolean);

/** True in the child: the benchmark was started with --host. */
export const isMeshHost = (): boolean => process.argv[2] === "--host";

/** In the child: hands `world` to the load generator, then serves until stdin ends, stops and exits. */
export async function serveWorld(world: unknown, stop: () => Promise<void>): Promise<never> {
  process.stdout.write(`${JSON.stringify(world)}\n`);
  process.stdin.resume();
  await once(process.stdin, "end");
  await stop();
  process.exit(0);
}

export interface MeshHost<W> {
  readonly child: ChildProcess;
  readonly pid: number;
  /** What the host's serveWorld handed over. */
  readonly world: W;
  /** Ends the host's stdin and waits (up to 10 s) for it to stop its mesh and exit. */
  stop(): Promise<void>;
}

/** Starts `script` (the benchmark's own file) with --host and waits for its world. */
export async function startMeshHost<W>(script: string): Promise<MeshHost<W>> {
  const child = spawn(process.execPath, [...hostFlags, "--enable-source-maps", script, "--host"], { cwd: repoRoot, stdio: ["pipe", "pipe", "inherit"] });
  const firstLine = await new Promise<string>((resolveLine, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once("line", resolveLine);
    child.once("exit", (code) => reject(new Error(`mesh host exited with ${code}`)));
  });
  return {
    child,
    pid: child.pid ?? 0,
    world: JSON.parse(firstLine) as W,
    stop: async () => {
      child.stdin?.end();
      await Promise.race([once(child, "exit"), new Promise((r) => setTimeout(r, 10_000))]);
    },
  };
}
