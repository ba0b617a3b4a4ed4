import { createAuthUseCases } from "./auth-use-cases.js";
import type { IdentityDependencies, IdentitySettings } from "./dependencies.js";
import { createExternalLoginUseCases } from "./external-login-use-cases.js";
import { createServiceClientUseCases } from "./service-client-use-cases.js";
import { createStaffUseCases } from "./staff-use-cases.js";
import { createUserUseCases } from "./user-use-cases.js";

export type { IdentityDependencies, IdentitySettings } from "./dependencies.js";

/** Every use case of the identity service, grouped as the gRPC adapter uses them. */
export function createIdentityUseCases(deps: IdentityDependencies, settings: IdentitySettings) {
  return {
    auth: createAuthUseCases(deps, settings),
    external: createExternalLoginUseCases(deps, settings),
    users: createUserUseCases(deps),
    staff: createStaffUseCases(deps),
    clients: createServiceClientUseCases(deps),
  };
}

export type IdentityUseCases = ReturnType<typeof createIdentityUseCases>;
