import anyTest, { type TestFn } from "ava";
import { pino } from "pino";
import { createTestKeys } from "../../services/platform/src/testing/harness.js";
import { gatewayConfigSchema } from "../src/config.js";
import { build, type RunningGateway } from "../src/main.js";

// The token endpoint's own checks, which answer before identity is asked.
// Grants against a real identity service are tested in identity-flow.e2e.

const test = anyTest as TestFn<{ gateway: RunningGateway; base: string; jwks: string }>;

test.before(async (t) => {
  const keys = createTestKeys();
  const config = gatewayConfigSchema.parse({
    service: { name: "gateway" },
    http: { host: "127.0.0.1", port: 0 },
    ops: { host: "127.0.0.1", port: 0 },
    auth: keys.auth,
    cors: { allowedOrigins: [] },
    // Nothing listens there: any call that reached identity would fail 503.
    upstreams: { identity: { address: "127.0.0.1:1", deadlineMs: 500 } },
    log: { level: "silent" },
  });
  const gateway = await build(config, { log: pino({ level: "silent" }) });
  const { readFileSync } = await import("node:fs");
  t.context = { gateway, base: `http://127.0.0.1:${gateway.port}`, jwks: readFileSync(keys.auth.jwksFile, "utf8") };
});
test.after.always(async (t) => {
  await t.context.gateway.stop();
});

const post = (t: { context: { base: string } }, body: string, headers: Record<string, string> = {}) =>
  fetch(`${t.context.base}/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body,
  });

test("the resource-owner password grant is not offered", async (t) => {
  const res = await post(t, "grant_type=password&username=a%40b.c&password=secret");
  t.is(res.status, 400);
  t.deepEqual(((await res.json()) as { error: string }).error, "unsupported_grant_type");
  t.is(res.headers.get("cache-control"), "no-store");
});

test("malformed token requests are invalid_request or invalid_client", async (t) => {
  t.is(((await (await post(t, "")).json()) as { error: string }).error, "invalid_request");
  const json = await fetch(`${t.context.base}/oauth/token`, {
    method: "POST", headers: { "content-type": "application/json" }, body: '{"grant_type":"client_credentials"}',
  });
  t.is(json.status, 400);
  t.is(((await json.json()) as { error: string }).error, "invalid_request");
  const noClient = await post(t, "grant_type=client_credentials");
  t.is(noClient.status, 401);
  t.is(((await noClient.json()) as { error: string }).error, "invalid_client");
  t.regex(noClient.headers.get("www-authenticate") ?? "", /Basic/);
  const both = await post(t, "grant_type=client_credentials&client_id=a&client_secret=b", {
    authorization: `Basic ${Buffer.from("a:b").toString("base64")}`,
  });
  t.is(((await both.json()) as { error: string }).error, "invalid_request");
  const noRefresh = await post(t, "grant_type=refresh_token");
  t.is(((await noRefresh.json()) as { error: string }).error, "invalid_request");
  const get = await fetch(`${t.context.base}/oauth/token`);
  t.is(get.status, 405);
});

test("identity being unreachable is temporarily_unavailable, not a 500", async (t) => {
  const res = await post(t, "grant_type=client_credentials&client_id=svc_x&client_secret=s");
  t.is(res.status, 503);
  t.is(((await res.json()) as { error: string }).error, "temporarily_unavailable");
});

test("the JWKS is published at the well-known path", async (t) => {
  const res = await fetch(`${t.context.base}/.well-known/jwks.json`);
  t.is(res.status, 200);
  const body = (await res.json()) as { keys: Array<{ kid: string; kty: string; d?: string }> };
  t.deepEqual(body, JSON.parse(t.context.jwks));
  t.true(body.keys.every((k) => k.d === undefined), "no private key material");
});
