import { createHash, createPrivateKey, generateKeyPairSync } from "node:crypto";
import test from "ava";
import jwt from "jsonwebtoken";
import { createJwtSigner, keyRingFromPem, kidOf } from "../src/adapters/crypto/key-ring.js";
import { createScryptPasswordHasher, parseScryptHash } from "../src/adapters/crypto/scrypt-password-hasher.js";
import { createSecrets } from "../src/adapters/crypto/secrets.js";

const cheap = { cost: 1024, blockSize: 8, parallelization: 1 };

test("scrypt hashes record their parameters, use a fresh salt and verify in constant time", async (t) => {
  const hasher = createScryptPasswordHasher(cheap);
  const a = await hasher.hash("correct-horse-battery-7");
  const b = await hasher.hash("correct-horse-battery-7");
  t.regex(a, /^scrypt\$N=1024,r=8,p=1\$[A-Za-z0-9+/]+=*\$[A-Za-z0-9+/]+=*$/);
  t.not(a, b, "salted");
  t.false(a.includes("correct-horse"));
  t.true(await hasher.verify("correct-horse-battery-7", a));
  t.false(await hasher.verify("correct-horse-battery-8", a));
  t.false(await hasher.verify("correct-horse-battery-7", null), "no hash never matches");
  t.false(await hasher.verify("x", "scrypt$N=3,r=8,p=1$AAAA$AAAA"), "malformed hashes never match");
  t.true(await hasher.verify("ﬁne-password-123", await hasher.hash("fine-password-123")), "NFKC: the ligature is fi");
});

test("a hash below the current parameters needs a rehash; the parameters of stored hashes are bounded", async (t) => {
  const weak = await createScryptPasswordHasher({ ...cheap, cost: 512 }).hash("correct-horse-battery-7");
  const hasher = createScryptPasswordHasher(cheap);
  t.true(hasher.needsRehash(weak));
  t.false(hasher.needsRehash(await hasher.hash("correct-horse-battery-7")));
  t.true(await hasher.verify("correct-horse-battery-7", weak), "old hashes still verify with their own parameters");
  t.is(parseScryptHash("scrypt$N=4194304,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAA=="), null, "N beyond 2^20 is refused");
  t.throws(() => createScryptPasswordHasher({ ...cheap, cost: 1000 }), { message: /power of two/ });
});

test("verifying against no hash costs about as much as a real verification", async (t) => {
  const params = { cost: 8192, blockSize: 8, parallelization: 1 };
  const hasher = createScryptPasswordHasher(params);
  const hash = await hasher.hash("correct-horse-battery-7");
  // Interleaved, and the fastest of each: other test processes share the CPU.
  const real: number[] = [];
  const dummy: number[] = [];
  for (let i = 0; i < 9; i++) {
    let start = performance.now();
    await hasher.verify("wrong-password-1234", hash);
    real.push(performance.now() - start);
    start = performance.now();
    await hasher.verify("wrong-password-1234", null);
    dummy.push(performance.now() - start);
  }
  const fastest = (xs: number[]): number => Math.min(...xs);
  const [r, d] = [fastest(real), fastest(dummy)];
  t.true(d > r * 0.5 && d < r * 2, `real ${r.toFixed(1)} ms, dummy ${d.toFixed(1)} ms`);
});

test("key ring: kid as scripts/dev-keys.ts computes it, every key published, none private", (t) => {
  const pems = [0, 1].map(() => generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "pem", type: "pkcs8" }) as string);
  const ring = keyRingFromPem(pems.join("\n"));
  const devKid = (pem: string): string => {
    const { d: _d, ...pub } = createPrivateKey(pem).export({ format: "jwk" });
    return createHash("sha256").update(`${pub.n}.${pub.e}`).digest("base64url").slice(0, 16);
  };
  t.deepEqual(ring.jwks.keys.map((k) => k.kid), pems.map(devKid));
  t.is(ring.current.kid, devKid(pems[0]!), "the first key is current");
  for (const key of ring.jwks.keys) {
    t.like(key, { kty: "RSA", alg: "RS256", use: "sig" });
    t.deepEqual(Object.keys(key).sort(), ["alg", "e", "kid", "kty", "n", "use"]);
    t.is(kidOf(key), key.kid);
  }
  t.throws(() => keyRingFromPem("nothing here"), { message: /no PEM private key/ });
  const ec = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "pem", type: "pkcs8" }) as string;
  t.throws(() => keyRingFromPem(ec), { message: /not an RSA key/ });
  t.throws(() => keyRingFromPem(`${pems[0]}${pems[0]}`), { message: /twice/ });
});

test("the signer puts iss, aud, iat, exp and jti next to the claims, with the current kid and RS256", (t) => {
  const pem = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "pem", type: "pkcs8" }) as string;
  const ring = keyRingFromPem(pem);
  const signer = createJwtSigner(ring, { issuer: "https://iss", audience: "aud" });
  const now = new Date();
  const { token, expiresAt, tokenId } = signer.sign({ sub: "u1", roles: ["customer"], permissions: ["profile.read_own"], customer_id: "u1" }, 900, now);
  const decoded = jwt.decode(token, { complete: true })!;
  t.like(decoded.header, { alg: "RS256", kid: ring.current.kid, typ: "JWT" });
  const claims = decoded.payload as jwt.JwtPayload;
  t.like(claims, { iss: "https://iss", aud: "aud", sub: "u1", jti: tokenId, customer_id: "u1" });
  t.is(claims.exp! - claims.iat!, 900);
  t.is(expiresAt.getTime(), claims.exp! * 1000);
});

test("secrets: 256-bit refresh tokens and client secrets, stored as SHA-256, compared in constant time", (t) => {
  const secrets = createSecrets();
  const token = secrets.newRefreshToken();
  t.regex(token, /^[A-Za-z0-9_-]{43}$/);
  t.not(token, secrets.newRefreshToken());
  t.regex(secrets.newClientId(), /^svc_[0-9a-f]{32}$/);
  const secret = secrets.newClientSecret();
  t.regex(secret, /^fmcs_[A-Za-z0-9_-]{43}$/);
  const digest = secrets.digest(secret);
  t.is(digest.length, 32);
  t.true(secrets.matches(secret, digest));
  t.false(secrets.matches(`${secret}x`, digest));
  t.false(secrets.matches(secret, Buffer.alloc(16)));
});
