import test from "ava";
import { getOption, hasOption } from "@bufbuild/protobuf";
import { event } from "../../../gen/fleetmesh/common/v1/options_pb.js";
import { loadServices } from "../../../scripts/lib/catalog.js";
import { methodAuthorization } from "../src/auth.js";
import { file_fleetmesh_fleet_v1_events } from "../../../gen/fleetmesh/fleet/v1/events_pb.js";

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

test("every event message declares its topic, aggregate and schema version", (t) => {
  for (const message of file_fleetmesh_fleet_v1_events.messages) {
    t.true(hasOption(message, event), message.typeName);
    const routing = getOption(message, event);
    t.regex(routing.topic, /^[a-z]+\.[a-z_]+\.v\d+$/);
    t.true(routing.schemaVersion >= 1);
  }
});
