// Measures the cost of one password hash (scrypt, node:crypto) for a few
// parameter sets, to choose passwords.scrypt in services/identity/config.
// Aim: 50-100 ms per hash on the target machine; every login pays it once
// (and an unknown email pays it too, on a dummy hash).
//   node dist/services/identity/bench/scrypt-cost.js
import { availableParallelism } from "node:os";
import { createScryptPasswordHasher } from "../src/adapters/crypto/scrypt-password-hasher.js";

const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 7);
const SETS = [16_384, 32_768, 65_536].map((cost) => ({ cost, blockSize: 8, parallelization: 1 }));

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

console.log(`\nscrypt cost per hash, ${ROUNDS} rounds (median), node ${process.version}, ${availableParallelism()} CPUs\n`);
console.log("| N | r | p | memory MiB | hash ms | verify ms |");
console.log("| ---: | ---: | ---: | ---: | ---: | ---: |");
for (const params of SETS) {
  const hasher = createScryptPasswordHasher(params);
  const hashes: number[] = [];
  const verifies: number[] = [];
  let stored = "";
  for (let i = 0; i < ROUNDS; i++) {
    let start = performance.now();
    stored = await hasher.hash("correct-horse-battery-7");
    hashes.push(performance.now() - start);
    start = performance.now();
    await hasher.verify("correct-horse-battery-7", stored);
    verifies.push(performance.now() - start);
  }
  const mib = (128 * params.cost * params.blockSize * params.parallelization) / 2 ** 20;
  console.log(`| ${params.cost} | ${params.blockSize} | ${params.parallelization} | ${mib} | ${median(hashes).toFixed(1)} | ${median(verifies).toFixed(1)} |`);
}
