// Which ledger position a read reflects: the one asked for, or the readable
// one when none was (0 or absent). Asking beyond the readable position is
// OUT_OF_RANGE: nothing at or below it may be read yet.
import { positionAhead } from "./errors.js";

export function positionToRead(asked: bigint | null | undefined, readable: bigint): bigint {
  if (asked === null || asked === undefined || asked === 0n) return readable;
  if (asked > readable) throw positionAhead(asked, readable);
  return asked;
}
