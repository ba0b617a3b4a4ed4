import { createPrivateKey } from "node:crypto";
import { writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import test from "ava";
import jwt from "jsonwebtoken";
import { pino } from "pino";
import { UnsafeJwksError } from "../../services/platform/src/auth.js";
import { testTempDir, createTestKeys } from "../../services/platform/src/testing/harness.js";
import { gatewayConfigSchema } from "../src/config.js";
import { build } from "../src/main.js";

// Regression: a JWKS carrying the RSA primes (p, q, dp, dq, qi) let anyone
// who fetched it from the gateway rebuild the signing key. The gateway now
// refuses such a file at start-up, and never re-serves private members.

const keys = createTestKeys();
const leaked = () => {
  const { d: _dropped, ...rest } = keys.privateKey.export({ format: "jwk" });
  return { keys: [{ ...rest, kid: keys.kid, alg: "RS256", use: "sig" }] };
};
const configWith = (auth: Record<string, unknown>) =>
  gatewayConfigSchema.parse({
    service: { name: "gateway" },
    http: { host: "127.0.0.1", port: 0 },
    ops: { host: "127.0.0.1", port: 0 },
    auth: { ...keys.auth, ...auth },
    cors: { allowedOrigins: [] },
    // Nothing listens there: a request that got past authentication would fail UNAVAILABLE.
    upstreams: { fleet: { address: "127.0.0.1:1", deadlineMs: 500 } },
    log: { level: "silent" },
    shutdown: { graceMs: 500 },
  });

test("a gateway whose JWKS file carries private members does not start, and says why", async (t) => {
  const file = join(testTempDir("fm-gw-jwks-"), "jwks.json");
  writeFileSync(file, JSON.stringify(leaked()));
  const err = await t.throwsAsync(build(configWith({ jwksFile: file }), { log: pino({ level: "silent" }) }), { instanceOf: UnsafeJwksError });
  t.regex(err?.message ?? "", /carries private key material \(p, q, dp, dq, qi\)/);
});

test("with a JWKS URL that starts leaking, the route answers 503 and a forged token is refused", async (t) => {
  const source = createServer((_req, res) => res.end(JSON.stringify(leaked())));
  await new Promise<void>((r) => source.listen(0, "127.0.0.1", r));
  const jwksUrl = `http://127.0.0.1:${(source.address() as AddressInfo).port}/jwks.json`;
  const gateway = await build(configWith({ jwksFile: undefined, jwksUrl }), { log: pino({ level: "silent" }) });
  try {
    const base = `http://127.0.0.1:${gateway.port}`;
    const route = await fetch(`${base}/.well-known/jwks.json`);
    t.is(route.status, 503);
    t.notRegex(await route.text(), /"(d|p|q|dp|dq|qi)"/);
    // The attacker's key: rebuilt from the leak (here simply the same private key).
    const forged = jwt.sign({ sub: "attacker", permissions: ["vehicles.write"] }, createPrivateKey(keys.privateKey.export({ format: "pem", type: "pkcs8" })), {
      algorithm: "RS256",
      keyid: keys.kid,
      issuer: keys.auth.issuer,
      audience: keys.auth.audience,
      expiresIn: 600,
    });
    const res = await fetch(`${base}/fleetmesh.fleet.v1.FleetService/ListVehicles`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${forged}` },
      body: "{}",
    });
    t.is(res.status, 401);
    t.is(((await res.json()) as { code: string }).code, "unauthenticated");
  } finally {
    await gateway.stop();
    source.close();
  }
});
