import { pino, type Logger } from "pino";

export type { Logger };

/**
 * Paths pino blanks out wherever they appear. Tokens, passwords and secrets
 * must never reach a log line, even when a whole request is logged by mistake.
 */
export const REDACTED_PATHS = [
  "password",
  "*.password",
  "*.*.password",
  "newPassword",
  "*.newPassword",
  "secret",
  "*.secret",
  "clientSecret",
  "privateKey",
  "*.privateKey",
  "*.clientSecret",
  "token",
  "*.token",
  "accessToken",
  "*.accessToken",
  "refreshToken",
  "*.refreshToken",
  "subjectToken",
  "*.subjectToken",
  "authorization",
  "*.authorization",
  "*.*.authorization",
  'headers["authorization"]',
  'req.headers["authorization"]',
  "passwordHash",
  "*.passwordHash",
];

export interface LoggerOptions {
  readonly service: string;
  readonly level: string;
  readonly destination?: pino.DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { service: options.service },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_PATHS, censor: "[REDACTED]" },
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ sync: false }),
  );
}
