// The seeded roles: the single source of truth for RBAC. The service upserts
// this catalog into roles / permissions / role_permissions at start;
// docs/roles.md is generated from it (scripts/docs-roles.ts) and a test fails
// when either drifts, or when proto/ declares a permission not listed here.

/** Every permission declared with `(fleetmesh.common.v1.authorization)` in proto/. */
export const PERMISSIONS = [
  "invoices.credit",
  "invoices.issue",
  "invoices.read",
  "invoices.read_own",
  "invoices.void",
  "ledger.close_period",
  "ledger.manage_accounts",
  "ledger.post",
  "ledger.read",
  "ledger.reopen_period",
  "locations.manage",
  "locations.read",
  "maintenance.assign",
  "maintenance.cancel",
  "maintenance.complete",
  "maintenance.manage_plans",
  "maintenance.manage_stock",
  "maintenance.read",
  "maintenance.read_own",
  "maintenance.record_parts",
  "maintenance.schedule",
  "maintenance.start",
  "payments.capture",
  "payments.read",
  "payments.refund",
  "pricing_plans.manage",
  "pricing_plans.read",
  "profile.read_own",
  "profile.update_own",
  "rentals.activate",
  "rentals.assign_driver",
  "rentals.cancel",
  "rentals.charge",
  "rentals.check_availability",
  "rentals.cancel_own",
  "rentals.complete",
  "rentals.extend",
  "rentals.quote",
  "rentals.read",
  "rentals.read_own",
  "rentals.record_payment",
  "rentals.reserve",
  "rentals.reserve_own",
  "reports.generate",
  "reports.read",
  "roles.assign",
  "roles.read",
  "service_clients.manage",
  "service_clients.read",
  "sessions.revoke_own",
  "staff.manage",
  "staff.read",
  "staff.read_own",
  "users.manage",
  "users.read",
  "vehicle_blocks.manage",
  "vehicle_blocks.read",
  "vehicle_projection.refresh",
  "vehicles.change_status",
  "vehicles.decommission",
  "vehicles.read",
  "vehicles.record_odometer",
  "vehicles.register",
  "vehicles.update",
] as const;

export type Permission = (typeof PERMISSIONS)[number];

/**
 * Own-scoped permissions only ever reach the holder's own records (`*Own*`
 * RPCs, the caller's profile and sessions). Granting one exposes nobody
 * else's data, which is why they are left out of the delegation check
 * ({@link grantablePermissions} in access.ts).
 */
export const isOwnScoped = (permission: string): boolean => permission.endsWith("_own");

export type RoleKind = "staff" | "customer" | "service";

export interface RoleDefinition {
  readonly name: string;
  /** Who holds it: staff users, customers, or service clients (machines). */
  readonly kind: RoleKind;
  readonly description: string;
  /** What the role needs the permissions for, one line each group (documentation). */
  readonly permissions: readonly Permission[];
}

/** Every person with an account: see and edit their profile, end their sessions. */
const SELF_SERVICE: readonly Permission[] = ["profile.read_own", "profile.update_own", "sessions.revoke_own"];
/** Every staff member: self-service plus their own staff profile. */
const STAFF_SELF: readonly Permission[] = [...SELF_SERVICE, "staff.read_own"];

export const ROLE_CATALOG: readonly RoleDefinition[] = [
  {
    name: "admin",
    kind: "staff",
    description: "Runs the platform: every permission, including users, roles, staff profiles and service clients.",
    permissions: PERMISSIONS,
  },
  {
    name: "fleet_manager",
    kind: "staff",
    description:
      "Owns the fleet: registers, edits and retires vehicles, plans and assigns maintenance, manages locations and " +
      "pricing plans, and reads rentals, staff and reports to plan capacity.",
    permissions: [
      ...STAFF_SELF,
      "vehicles.register", "vehicles.update", "vehicles.read", "vehicles.change_status", "vehicles.decommission",
      "vehicles.record_odometer",
      "maintenance.schedule", "maintenance.assign", "maintenance.cancel", "maintenance.read",
      "maintenance.manage_plans", "maintenance.manage_stock",
      "locations.manage", "locations.read",
      "pricing_plans.manage", "pricing_plans.read",
      "rentals.read", "rentals.check_availability",
      // Taking a vehicle off the road outside a maintenance job, and reloading
      // rental's copy of the fleet after a long Kafka outage.
      "vehicle_blocks.manage", "vehicle_blocks.read", "vehicle_projection.refresh",
      "staff.read",
      "reports.read",
    ],
  },
  {
    name: "rental_agent",
    kind: "staff",
    description:
      "Serves customers at the counter: registers walk-in customers, quotes, reserves, hands over and takes back " +
      "vehicles (with their odometer), assigns drivers, adds charges and records payments.",
    permissions: [
      ...STAFF_SELF,
      "rentals.quote", "rentals.reserve", "rentals.activate", "rentals.complete", "rentals.cancel", "rentals.extend",
      "vehicle_blocks.read",
      "rentals.assign_driver", "rentals.charge", "rentals.record_payment", "rentals.read", "rentals.check_availability",
      "locations.read", "pricing_plans.read",
      "vehicles.read", "vehicles.record_odometer",
      "staff.read",
      // Registering customers: CreateUser with roles needs both. The delegation
      // rule limits an agent to users and roles no more powerful than an agent.
      "users.read", "users.manage", "roles.assign",
    ],
  },
  {
    name: "mechanic",
    kind: "staff",
    description: "Works maintenance jobs: sees the job board and their own jobs, starts, records parts, completes; reads and records odometers.",
    permissions: [
      ...STAFF_SELF,
      "maintenance.read", "maintenance.read_own", "maintenance.start", "maintenance.record_parts", "maintenance.complete",
      "vehicles.read", "vehicles.record_odometer",
    ],
  },
  {
    name: "accountant",
    kind: "staff",
    description:
      "Keeps the books: chart of accounts, journal, invoices, payments and refunds, financial reports; reads rentals and " +
      "maintenance costs to reconcile charges and expenses.",
    permissions: [
      ...STAFF_SELF,
      "ledger.read", "ledger.post", "ledger.manage_accounts", "ledger.close_period", "ledger.reopen_period",
      "invoices.issue", "invoices.read", "invoices.void", "invoices.credit",
      "payments.capture", "payments.read", "payments.refund",
      "reports.read", "reports.generate",
      "rentals.read",
      // Maintenance costs and stock value, to reconcile what the ledger posted.
      "maintenance.read",
    ],
  },
  {
    name: "driver",
    kind: "staff",
    description: "Drives assigned (chauffeured) rentals: sees only the rentals assigned to them, reads the vehicle, records its odometer.",
    permissions: [...STAFF_SELF, "rentals.read_own", "vehicles.read", "vehicles.record_odometer"],
  },
  {
    name: "conductor",
    kind: "staff",
    description: "Accompanies assigned rentals (group and coach hires): sees only the rentals assigned to them.",
    permissions: [...STAFF_SELF, "rentals.read_own"],
  },
  {
    name: "customer",
    kind: "customer",
    description:
      "Rents vehicles: their own profile, rentals and invoices only; browses locations, plans and availability and asks for quotes.",
    permissions: [
      ...SELF_SERVICE,
      "rentals.read_own", "invoices.read_own", "rentals.reserve_own", "rentals.cancel_own",
      "locations.read", "pricing_plans.read", "rentals.check_availability", "rentals.quote",
    ],
  },
  {
    name: "partner",
    kind: "service",
    description:
      "A partner integration or service account (client_credentials): reads locations, plans and availability, quotes and " +
      "reserves rentals for customers, and reads and cancels the rentals it created, no others. No user data, no refresh tokens.",
    permissions: [
      "locations.read", "pricing_plans.read", "rentals.check_availability", "rentals.quote", "rentals.reserve",
      "rentals.read_own", "rentals.cancel_own",
    ],
  },
  {
    name: "mesh_service",
    kind: "service",
    description:
      "A Fleet mesh service calling another as itself (event consumers, scheduled jobs, backfills, checks of its own " +
      "invariants): reads vehicles, users, staff profiles, locations, plans, rentals and maintenance jobs. Read-only; " +
      "granted to the services' own clients only, never to people or partners.",
    permissions: [
      "vehicles.read", "users.read", "staff.read", "locations.read", "pricing_plans.read", "rentals.read", "maintenance.read",
      "vehicle_blocks.read",
    ],
  },
  {
    name: "maintenance_service",
    kind: "service",
    description:
      "The maintenance service's own client, next to mesh_service: claims, moves and releases maintenance blocks on " +
      "vehicle timelines in rental, and finds free vehicles for the customers an urgent repair displaces.",
    permissions: ["vehicle_blocks.manage", "vehicle_blocks.read", "rentals.check_availability"],
  },
];

export const ROLE_NAMES: readonly string[] = ROLE_CATALOG.map((r) => r.name);

export const roleDefinition = (name: string): RoleDefinition | undefined => ROLE_CATALOG.find((r) => r.name === name);

/** Union of the catalog permissions of `roles`, sorted; unknown role names contribute nothing. */
export function catalogPermissionsOf(roles: readonly string[]): string[] {
  const out = new Set<string>();
  for (const role of roles) for (const p of roleDefinition(role)?.permissions ?? []) out.add(p);
  return [...out].sort();
}
