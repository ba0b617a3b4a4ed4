import test from "ava";
import { getOption, hasOption } from "@bufbuild/protobuf";
import { event } from "../../../gen/fleetmesh/common/v1/options_pb.js";
import { loadServices } from "../../../scripts/lib/catalog.js";
import { methodAuthorization } from "../src/auth.js";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../src/db.js";
import { EVENT_FILES } from "../src/events/catalog.js";

test("every RPC of every service declares exactly one authorization requirement", async (t) => {
  const services = await loadServices();
  t.true(services.length >= 6, `found ${services.map((s) => s.typeName).join(", ")}`);
  for (const service of services) {
    for (const method of service.methods) {
      const auth = methodAuthorization(method);
      const name = `${service.typeName}/${method.name}`;
      t.truthy(auth, `${name} declares an authorization option`);
      t.true((auth?.permission !== "") !== (auth?.anonymous === true), `${name}: a permission xor anonymous`);
      if (auth?.permission) t.regex(auth.permission, /^[a-z_]+\.[a-z_]+$/, name);
    }
  }
});

test("read-only RPCs are marked NO_SIDE_EFFECTS", async (t) => {
  for (const service of await loadServices()) {
    for (const method of service.methods) {
      if (/^(Get|List|Check)/.test(method.name)) t.is(method.idempotency, 1, `${service.typeName}/${method.name}`);
    }
  }
});

test("every event message of every service declares its topic, aggregate and schema version", (t) => {
  // Every proto/fleetmesh/<service>/v1/events.proto is in the events catalog ...
  const declared = readdirSync(join(repoRoot, "proto/fleetmesh"), { withFileTypes: true })
    .filter((d) => d.isDirectory() && readdirSync(join(repoRoot, "proto/fleetmesh", d.name, "v1")).includes("events.proto"))
    .map((d) => `fleetmesh/${d.name}/v1/events.proto`)
    .sort();
  t.deepEqual(EVENT_FILES.map((f) => f.name + ".proto").sort(), declared);
  t.true(declared.length >= 5, declared.join(", "));
  // ... and each of its messages is routed.
  for (const file of EVENT_FILES) {
    for (const message of file.messages) {
      t.true(hasOption(message, event), `${message.typeName} declares the event option`);
      const routing = getOption(message, event);
      t.regex(routing.topic, /^[a-z]+\.[a-z_]+\.v\d+$/, message.typeName);
      t.regex(routing.aggregateType, /^[a-z_]+$/, message.typeName);
      t.true(routing.schemaVersion >= 1, message.typeName);
      // NounPastVerb, never a command: "VehicleRegistered", not "RegisterVehicle".
      t.notRegex(message.name, /^(Create|Register|Update|Delete|Cancel|Schedule|Start|Complete|Record|Issue|Post|Reserve|Activate|Assign)[A-Z]/, message.typeName);
    }
  }
});
