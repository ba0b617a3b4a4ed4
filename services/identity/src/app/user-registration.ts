import type { User } from "../domain/user.js";
import type { IdentityDependencies } from "./dependencies.js";
import type { Role } from "./ports.js";

/**
 * Saves a new user (from newUser) with its roles and announces it
 * (UserRegistered), inside the caller's unit of work. Every way a user comes
 * to exist goes through here: CreateUser, bootstrap-admin, a delegated
 * login that provisions the user.
 */
export async function registerUser(
  deps: Pick<IdentityDependencies, "users" | "outbox">,
  user: User,
  passwordHash: string | null,
  granted: readonly Role[],
): Promise<void> {
  await deps.users.insert(user, passwordHash);
  for (const role of granted) await deps.users.addRole(user.id, role.id, user.createdAt, user.createdBy);
  await deps.outbox.append({ type: "UserRegistered", user });
}
