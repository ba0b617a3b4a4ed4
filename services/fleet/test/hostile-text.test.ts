// Issue 9, finding 2: "make": "a\u0000b" on RegisterVehicle ended in
// PostgreSQL's "invalid byte sequence for encoding UTF8: 0x00" and INTERNAL.
// Every string field of every fleet RPC (enumerated from the descriptor, so a
// new RPC is covered by itself) refuses hostile text with INVALID_ARGUMENT
// naming the field, and nothing is written.
import test from "ava";
import { FleetService } from "../../../gen/fleetmesh/fleet/v1/fleet_service_pb.js";
import { LEGITIMATE_TEXTS, methodsWithText, sweepHostileText, tableRowCounts } from "../../platform/src/testing/hostile-text.js";
import { startFleet, uniquePlate } from "./support.js";

test("hostile text in any string field of any RPC is INVALID_ARGUMENT with the field path; nothing is written", async (t) => {
  const h = await startFleet();
  t.teardown(() => h.stop());
  // Something to write over: a vehicle that hostile updates would change.
  const { vehicle } = await h.client.registerVehicle({ plateNumber: uniquePlate(), attributes: { make: "Toyota", model: "Corolla" } }, h.as());
  const before = await tableRowCounts(h.db.admin);
  t.true(Object.keys(before).includes("vehicles") && Object.keys(before).some((n) => n.includes("outbox")), Object.keys(before).join());

  const { calls, mismatches } = await sweepHostileText(FleetService, `127.0.0.1:${h.service.grpcPort}`, h.as().headers);
  t.deepEqual(mismatches, []);
  t.true(methodsWithText(FleetService).length >= 8);
  t.log(`${calls} hostile calls over ${methodsWithText(FleetService).length} RPCs`);

  t.deepEqual(await tableRowCounts(h.db.admin), before);
  const { rows } = await h.db.admin.query("SELECT make, model, row_version FROM vehicles WHERE id = $1", [vehicle!.id]);
  t.like(rows[0], { make: "Toyota", model: "Corolla", row_version: 1n });
});

test("legitimate Unicode is stored and read back unchanged", async (t) => {
  const h = await startFleet();
  t.teardown(() => h.stop());
  for (const text of LEGITIMATE_TEXTS) {
    const make = text.trim().slice(0, 100);
    const { vehicle } = await h.client.registerVehicle({ plateNumber: uniquePlate(), attributes: { make, model: "Model" } }, h.as());
    const read = await h.client.getVehicle({ vehicleId: vehicle!.id }, h.as());
    t.is(read.vehicle?.attributes?.make, make);
  }
});
