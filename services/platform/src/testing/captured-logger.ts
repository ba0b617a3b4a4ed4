// Tests only: a real logger whose JSON lines a test can read.
import { Writable } from "node:stream";
import { createLogger, type Logger } from "../logger.js";

export interface LogLine {
  readonly level: string;
  readonly msg: string;
  readonly [field: string]: unknown;
}

export function capturedLogger(): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as LogLine);
      done();
    },
  });
  return { log: createLogger({ service: "test", level: "debug", destination }), lines };
}
