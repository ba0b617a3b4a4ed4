import test from "ava";
import { ANONYMOUS } from "../src/auth.js";
import { DomainError } from "../src/errors.js";
import { isSelf, owns, ownerScope, requireOwner, requireOwnOrPermission } from "../src/ownership.js";
import { decodePageToken, decodeTimeIdToken, encodePageToken, pageSize, toPage, toTimeIdPage } from "../src/paging.js";
import { testCaller as caller } from "../src/testing/fakes.js";

// The kit's ownership helpers and keyset paging: one convention for every service.


const ME = "00000000-0000-4000-8000-000000000001";
const OTHER = "00000000-0000-4000-8000-000000000002";

test("ownership helpers: one line per rule, NOT_FOUND for others' objects", (t) => {
  const customer = caller(ME, ["rentals.read_own"], { customerId: ME });
  const driver = caller(OTHER, ["rentals.read_own"], { staffId: "staff-1" });
  const rental = { customerId: ME, userId: OTHER };
  const notFound = () => new DomainError("not_found", "RENTAL_NOT_FOUND", "rental not found");
  t.notThrows(() => requireOwner(customer, rental, notFound), "the customer");
  t.notThrows(() => requireOwner(driver, rental, notFound), "the assigned driver");
  const stranger = caller("00000000-0000-4000-8000-000000000003", ["rentals.read_own"]);
  t.is(t.throws(() => requireOwner(stranger, rental, notFound))?.message, "rental not found");
  t.notThrows(() => requireOwnOrPermission(caller("x", ["rentals.read"]), rental, "rentals.read", notFound));
  t.false(owns(ANONYMOUS, { userId: "" }), "empty ids never match");
  t.false(isSelf(ANONYMOUS, ""));
  t.true(owns(driver, { staffId: "staff-1" }));
  t.deepEqual(ownerScope(customer), { userId: ME, customerId: ME, staffId: null });
  t.throws(() => ownerScope(ANONYMOUS), { instanceOf: DomainError });
});

test("page tokens: round trip, bound to the query, malformed ones rejected", (t) => {
  const token = encodePageToken(["ada@example.com", ME], "q1");
  t.deepEqual(decodePageToken(token, "q1", 2), ["ada@example.com", ME]);
  t.is(decodePageToken("", "q1", 2), null);
  for (const bad of [token, "garbage", Buffer.from("[1,2,3]").toString("base64url")]) {
    const err = t.throws(() => decodePageToken(bad, bad === token ? "q2" : "q1", 2), { instanceOf: DomainError });
    t.is(err?.reason, "INVALID_PAGE_TOKEN");
  }
  t.is(pageSize(0), 50);
  t.is(pageSize(10_000), 500);
  const page = toPage([1, 2, 3], 2, "q", (n) => [String(n)]);
  t.deepEqual(page.items, [1, 2]);
  t.deepEqual(decodePageToken(page.nextPageToken, "q", 1), ["2"]);
  t.is(toPage([1, 2], 2, "q", (n) => [String(n)]).nextPageToken, "");
});

test("time-and-id cursors: the sort order most lists use, same token shape as before the kit owned it", (t) => {
  const at = new Date("2026-03-01T10:00:00.000Z");
  const page = toTimeIdPage([{ at, id: ME }, { at, id: OTHER }], 1, "status=*", (r) => r);
  t.deepEqual(decodeTimeIdToken(page.nextPageToken, "status=*"), { at, id: ME });
  // fleet's tokens were [iso time, id, fingerprint] before it used the kit: still accepted.
  t.deepEqual(JSON.parse(Buffer.from(page.nextPageToken, "base64url").toString()).slice(0, 2), [at.toISOString(), ME]);
  const badTime = encodePageToken(["not a time", ME], "status=*");
  t.is(t.throws(() => decodeTimeIdToken(badTime, "status=*"), { instanceOf: DomainError })?.reason, "INVALID_PAGE_TOKEN");
  t.is(decodeTimeIdToken("", "status=*"), null);
});
