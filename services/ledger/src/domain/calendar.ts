// Accounting dates: calendar days ("YYYY-MM-DD") in the ledger's reporting
// time zone, and months ("YYYY-MM") as accounting periods.
import { fieldError } from "./errors.js";

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const MONTH = /^(\d{4})-(\d{2})$/;

// One formatter per zone: building one costs more than a posting's SQL
// statements do on the client (bench/ledger-posting.ts profile).
const formatters = new Map<string, Intl.DateTimeFormat>();

/** The accounting date of an instant in `timeZone`. */
export function accountingDateOf(instant: Date, timeZone: string): string {
  let format = formatters.get(timeZone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" });
    formatters.set(timeZone, format);
  }
  return format.format(instant);
}

export function isValidDate(text: string): boolean {
  const m = DATE.exec(text);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.toISOString().slice(0, 10) === text && Number(m[1]) >= 2000 && Number(m[1]) < 2100;
}

export function parsePeriod(field: string, text: string): { readonly period: string; readonly startDate: string; readonly endDate: string } {
  const m = MONTH.exec(text);
  const year = Number(m?.[1]);
  const month = Number(m?.[2]);
  if (!m || month < 1 || month > 12 || year < 2000 || year >= 2100) throw fieldError(field, 'must be a month "YYYY-MM"', "INVALID_FORMAT");
  return { period: text, startDate: `${text}-01`, endDate: monthStartAfter(`${text}-01`) };
}

export const periodOfDate = (date: string): string => date.slice(0, 7);

/** The first day of the month after the one `date` is in. */
export function monthStartAfter(date: string): string {
  const y = Number(date.slice(0, 4));
  const m = Number(date.slice(5, 7));
  return m === 12 ? `${y + 1}-01-01` : `${y}-${String(m + 1).padStart(2, "0")}-01`;
}

export function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}
