// Measures access-token verify and sign cost per algorithm, to choose the
// signing algorithm by verify cost (every request verifies; only the identity
// service signs). Same run, same token claims; medians over rounds.
//   node dist/bench/jwt-verify.js
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import jwt from "jsonwebtoken";

const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 5);
const ITERATIONS = Number(process.env["BENCH_ITERATIONS"] ?? 2_000);

const claims = {
  sub: "00000000-0000-4000-8000-000000000001",
  roles: ["fleet_manager"],
  permissions: ["vehicles.read", "vehicles.register", "vehicles.update", "vehicles.change_status", "rentals.read"],
};

const keys: Array<[jwt.Algorithm, { privateKey: KeyObject; publicKey: KeyObject }]> = [
  ["RS256", generateKeyPairSync("rsa", { modulusLength: 2048 })],
  ["PS256", generateKeyPairSync("rsa", { modulusLength: 2048 })],
  ["ES256", generateKeyPairSync("ec", { namedCurve: "P-256" })],
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function time(fn: () => void): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < ITERATIONS; i++) fn();
  return Number(process.hrtime.bigint() - start) / 1_000 / ITERATIONS; // microseconds per op
}

const rows: Array<{ alg: string; verify: number; sign: number; size: number }> = [];
for (const [alg, { privateKey, publicKey }] of keys) {
  const token = jwt.sign(claims, privateKey, { algorithm: alg, expiresIn: 900, issuer: "iss", audience: "aud", keyid: "k1" });
  const verifyRuns: number[] = [];
  const signRuns: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    verifyRuns.push(time(() => jwt.verify(token, publicKey, { algorithms: [alg], issuer: "iss", audience: "aud" })));
    signRuns.push(time(() => jwt.sign(claims, privateKey, { algorithm: alg, expiresIn: 900 })));
  }
  rows.push({ alg, verify: median(verifyRuns), sign: median(signRuns), size: token.length });
}
const base = rows.find((r) => r.alg === "ES256")!;
console.log(`\nJWT cost per operation, ${ROUNDS} rounds x ${ITERATIONS} ops (medians), node ${process.version}\n`);
console.log("| algorithm | verify us | verify vs ES256 | sign us | token bytes |");
console.log("| --- | ---: | ---: | ---: | ---: |");
for (const r of rows) {
  console.log(`| ${r.alg} | ${r.verify.toFixed(1)} | ${(r.verify / base.verify).toFixed(2)}x | ${r.sign.toFixed(1)} | ${r.size} |`);
}
