// Issue 9, finding 2, for identity: every string field of every RPC
// (enumerated from the descriptor) refuses hostile text with
// INVALID_ARGUMENT naming the field, and nothing is written.
import test from "ava";
import { IdentityService } from "../../../gen/fleetmesh/identity/v1/identity_service_pb.js";
import { allPermissions, LEGITIMATE_TEXTS, methodsWithText, sweepHostileText, tableRowCounts } from "../../platform/src/testing/hostile-text.js";
import { PASSWORD, startIdentity, uniqueEmail } from "./support.js";

test("hostile text in any string field of any RPC is INVALID_ARGUMENT with the field path; nothing is written", async (t) => {
  const h = await startIdentity();
  t.teardown(() => h.stop());
  const admin = await h.admin(); // users, roles, a session and outbox rows to leave untouched
  const before = await tableRowCounts(h.db.admin);
  t.true(before["users"]! > 0 && Object.keys(before).some((n) => n.includes("outbox")), JSON.stringify(before));

  const { calls, mismatches } = await sweepHostileText(IdentityService, `127.0.0.1:${h.service.grpcPort}`, h.as(allPermissions(IdentityService)).headers);
  t.deepEqual(mismatches, []);
  t.true(methodsWithText(IdentityService).length >= 25);
  t.log(`${calls} hostile calls over ${methodsWithText(IdentityService).length} RPCs`);

  t.deepEqual(await tableRowCounts(h.db.admin), before);
  // The administrator still logs in: no hostile Login counted as a failure.
  await t.notThrowsAsync(h.client.login({ email: (await h.client.getCurrentUser({}, admin.opts)).user!.attributes!.email, password: PASSWORD }));
});

test("legitimate Unicode display names are stored and read back unchanged", async (t) => {
  const h = await startIdentity();
  t.teardown(() => h.stop());
  const admin = await h.admin();
  for (const text of LEGITIMATE_TEXTS.filter((s) => !/[\n\t]/.test(s))) {
    const { user } = await h.client.createUser(
      { attributes: { email: uniqueEmail("unicode"), displayName: text }, initialPassword: PASSWORD, roles: [] },
      admin.opts,
    );
    const read = await h.client.getUser({ userId: user!.id }, admin.opts);
    t.is(read.user?.attributes?.displayName, text);
  }
});
