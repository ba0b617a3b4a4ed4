// scrypt from node:crypto (no native addon). Each hash records its parameters:
//   scrypt$N=32768,r=8,p=1$<salt, base64>$<derived key, base64>
// so they can be raised later: a login whose hash is weaker than the current
// parameters re-hashes the password.
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";
import type { PasswordHasher } from "../../app/ports.js";

export interface ScryptParams {
  /** N: CPU/memory cost, a power of two. Memory is 128 * N * r bytes. */
  readonly cost: number;
  /** r: block size. */
  readonly blockSize: number;
  /** p: parallelization. */
  readonly parallelization: number;
}

const SALT_BYTES = 16;
const KEY_BYTES = 32;
const PREFIX = "scrypt";
const FORMAT = /^scrypt\$N=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;

// Bounds on parameters read back from stored hashes, so that a corrupted or
// planted hash cannot make one verification take minutes or gigabytes.
const MAX_COST = 2 ** 20;
const MAX_BLOCK_SIZE = 32;
const MAX_PARALLELIZATION = 16;

const isPowerOfTwo = (n: number): boolean => Number.isInteger(n) && n > 1 && (n & (n - 1)) === 0;

export function validateScryptParams(p: ScryptParams): void {
  if (!isPowerOfTwo(p.cost) || p.cost > MAX_COST) throw new Error(`scrypt cost must be a power of two up to ${MAX_COST}`);
  if (!Number.isInteger(p.blockSize) || p.blockSize < 1 || p.blockSize > MAX_BLOCK_SIZE) throw new Error("scrypt blockSize out of range");
  if (!Number.isInteger(p.parallelization) || p.parallelization < 1 || p.parallelization > MAX_PARALLELIZATION) {
    throw new Error("scrypt parallelization out of range");
  }
}

const derive = (password: string, salt: Buffer, p: ScryptParams, keyLength: number): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const options: ScryptOptions = {
      N: p.cost,
      r: p.blockSize,
      p: p.parallelization,
      // scrypt needs 128 * N * r * p bytes; node's default cap (32 MiB) is too small for N=32768, r=8.
      maxmem: 128 * p.cost * p.blockSize * p.parallelization + 16 * 1024 * 1024,
    };
    scrypt(password.normalize("NFKC"), salt, keyLength, options, (err, key) => (err ? reject(err) : resolve(key)));
  });

interface ParsedHash {
  readonly params: ScryptParams;
  readonly salt: Buffer;
  readonly key: Buffer;
}

export function parseScryptHash(hash: string): ParsedHash | null {
  const m = FORMAT.exec(hash);
  if (!m) return null;
  const params = { cost: Number(m[1]), blockSize: Number(m[2]), parallelization: Number(m[3]) };
  try {
    validateScryptParams(params);
  } catch {
    return null;
  }
  const salt = Buffer.from(m[4]!, "base64");
  const key = Buffer.from(m[5]!, "base64");
  if (salt.length < SALT_BYTES || key.length < 16) return null;
  return { params, salt, key };
}

export function createScryptPasswordHasher(current: ScryptParams): PasswordHasher {
  validateScryptParams(current);
  const dummySalt = randomBytes(SALT_BYTES);
  return {
    async hash(password) {
      const salt = randomBytes(SALT_BYTES);
      const key = await derive(password, salt, current, KEY_BYTES);
      return `${PREFIX}$N=${current.cost},r=${current.blockSize},p=${current.parallelization}$${salt.toString("base64")}$${key.toString("base64")}`;
    },
    async verify(password, hash) {
      const parsed = hash === null ? null : parseScryptHash(hash);
      if (!parsed) {
        // Same work as a real check, so a missing account or password is not faster to detect.
        await derive(password, dummySalt, current, KEY_BYTES);
        return false;
      }
      const candidate = await derive(password, parsed.salt, parsed.params, parsed.key.length);
      return timingSafeEqual(candidate, parsed.key);
    },
    needsRehash(hash) {
      const parsed = parseScryptHash(hash);
      if (!parsed) return true;
      const p = parsed.params;
      return p.cost < current.cost || p.blockSize < current.blockSize || p.parallelization < current.parallelization;
    },
  };
}
