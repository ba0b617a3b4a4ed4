import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { DescService } from "@bufbuild/protobuf";
import { methodAuthorization } from "../../services/platform/src/auth.js";

/** dist/gen, next to this compiled file's dist/scripts/lib. */
const genDir = resolve(import.meta.dirname, "../../gen/fleetmesh");

function* walk(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else if (entry.name.endsWith("_pb.js")) yield path;
  }
}

/** Every Fleet mesh service in the generated code, found by walking gen/. */
export async function loadServices(): Promise<DescService[]> {
  const services: DescService[] = [];
  for (const file of walk(genDir)) {
    const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    for (const value of Object.values(mod)) {
      if (typeof value === "object" && value !== null && (value as { kind?: unknown }).kind === "service") {
        services.push(value as DescService);
      }
    }
  }
  return services.sort((a, b) => a.typeName.localeCompare(b.typeName));
}

/** All permissions declared in proto/ (method options). */
export async function allPermissions(): Promise<string[]> {
  const permissions = new Set<string>();
  for (const service of await loadServices()) {
    for (const method of service.methods) {
      const p = methodAuthorization(method)?.permission;
      if (p) permissions.add(p);
    }
  }
  return [...permissions].sort();
}
