import { Writable } from "node:stream";
import test from "ava";
import { createLogger } from "../src/logger.js";

test("tokens, passwords and secrets never reach a log line", async (t) => {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const log = createLogger({ service: "test", level: "info", destination });
  log.info({
    password: "hunter2",
    request: { password: "pw-in-request", refreshToken: "rt-123", clientSecret: "cs-456" },
    headers: { authorization: "Bearer eyJ.secret.sig" },
    user: { email: "a@example.com", passwordHash: "scrypt$abc" },
    accessToken: "at-789",
  }, "login");
  await new Promise((r) => setImmediate(r));
  const out = lines.join("");
  for (const secret of ["hunter2", "pw-in-request", "rt-123", "cs-456", "eyJ.secret.sig", "scrypt$abc", "at-789"]) {
    t.false(out.includes(secret), `${secret} leaked: ${out}`);
  }
  t.true(out.includes("a@example.com"), "non-secret fields stay");
  t.true(out.includes('"service":"test"'));
});
