import { create } from "@bufbuild/protobuf";
import { PageResponseSchema } from "../../../../../gen/fleetmesh/common/v1/paging_pb.js";
import {
  ClosePeriodResponseSchema,
  CreateAccountResponseSchema,
  GetAccountBalanceResponseSchema,
  GetAccountResponseSchema,
  GetJournalEntryResponseSchema,
  GetLedgerPositionResponseSchema,
  ListAccountsResponseSchema,
  ListJournalEntriesResponseSchema,
  ListPeriodsResponseSchema,
  PostJournalEntryResponseSchema,
  ReopenPeriodResponseSchema,
  ReverseJournalEntryResponseSchema,
  type LedgerService,
} from "../../../../../gen/fleetmesh/ledger/v1/ledger_service_pb.js";
import type { ServiceHandlers } from "../../../../platform/src/grpc/server.js";
import { timeToProto } from "../../../../platform/src/proto-common.js";
import type { JournalUseCases } from "../../app/journal-use-cases.js";
import {
  accountingPeriodToProto,
  accountToProto,
  accountTypeFromProto,
  currencyBalanceToProto,
  journalEntryToProto,
} from "../proto/journal-proto.js";
import {
  accountCodeOf,
  check,
  dateOf,
  dateRangeOf,
  journalLinesOf,
  MAX_ACCOUNT_DESCRIPTION,
  MAX_ACCOUNT_NAME,
  MAX_DESCRIPTION,
  optionalTime,
  optionalUuid,
  pageOf,
  positionOf,
  refTypeOf,
  requiredText,
  Violations,
} from "./journal-requests.js";

// The journal's RPCs of LedgerService: accounts, entries, balances, periods
// and the position. Shape checks first (every violation at once), then the
// use case as ctx.caller; the billing RPCs are in billing-handlers.ts.

const pageResponse = (nextPageToken: string) => create(PageResponseSchema, { nextPageToken });

export type JournalMethods =
  | "createAccount" | "getAccount" | "listAccounts" | "getAccountBalance"
  | "postJournalEntry" | "reverseJournalEntry" | "getJournalEntry" | "listJournalEntries"
  | "closePeriod" | "reopenPeriod" | "listPeriods" | "getLedgerPosition";

export function journalHandlers(useCases: JournalUseCases): Pick<ServiceHandlers<typeof LedgerService>, JournalMethods> {
  return {
    async createAccount(req, ctx) {
      const v = new Violations();
      const code = accountCodeOf(v, "code", req.code);
      const name = requiredText(v, "name", req.name, MAX_ACCOUNT_NAME);
      const type = accountTypeFromProto(req.type);
      if (type === null || type === undefined) v.add("type", "is required", "REQUIRED");
      v.maxLength("description", req.description, MAX_ACCOUNT_DESCRIPTION);
      check(v);
      const account = await useCases.createAccount({ code, name, type: type!, description: req.description }, ctx.caller);
      return create(CreateAccountResponseSchema, { account: accountToProto(account) });
    },

    async getAccount(req) {
      check(new Violations().uuid("account_id", req.accountId));
      return create(GetAccountResponseSchema, { account: accountToProto(await useCases.getAccount(req.accountId)) });
    },

    async listAccounts(req) {
      const v = new Violations();
      const page = pageOf(v, req.page);
      const type = accountTypeFromProto(req.type);
      if (type === undefined) v.add("type", "is not a known account type", "UNSUPPORTED_VALUE");
      check(v);
      const result = await useCases.listAccounts(type ?? null, page);
      return create(ListAccountsResponseSchema, { accounts: result.items.map(accountToProto), page: pageResponse(result.nextPageToken) });
    },

    async getAccountBalance(req) {
      const v = new Violations().uuid("account_id", req.accountId);
      const asOfDate = dateOf(v, "as_of_date", req.asOfDate, false);
      const cutoffTime = optionalTime(v, "cutoff_time", req.cutoffTime);
      const asOfPosition = positionOf(v, "as_of_position", req.asOfPosition);
      check(v);
      const result = await useCases.accountBalance({ accountId: req.accountId, asOfDate, cutoffTime, asOfPosition });
      return create(GetAccountBalanceResponseSchema, {
        account: accountToProto(result.account),
        balances: result.balances.map(currencyBalanceToProto),
        asOfDate: result.asOfDate ?? "",
        cutoffTime: timeToProto(result.cutoffTime),
        ledgerPosition: result.position,
      });
    },

    async postJournalEntry(req, ctx) {
      const v = new Violations();
      const refType = refTypeOf(v, "external_ref_type", req.externalRefType, true);
      v.uuid("external_ref_id", req.externalRefId);
      const entryDate = dateOf(v, "entry_date", req.entryDate, true);
      const description = requiredText(v, "description", req.description, MAX_DESCRIPTION);
      const lines = journalLinesOf(v, "lines", req.lines);
      check(v);
      const { entry, alreadyPosted } = await useCases.postEntry({
        externalRef: { type: refType!, id: req.externalRefId }, entryDate: entryDate!, description, lines,
      }, ctx.caller);
      return create(PostJournalEntryResponseSchema, { entry: journalEntryToProto(entry), alreadyPosted });
    },

    async reverseJournalEntry(req, ctx) {
      const v = new Violations().uuid("journal_entry_id", req.journalEntryId);
      const entryDate = dateOf(v, "entry_date", req.entryDate, false);
      const reason = requiredText(v, "reason", req.reason, MAX_DESCRIPTION);
      check(v);
      const entry = await useCases.reverseEntry({ entryId: req.journalEntryId, entryDate, reason }, ctx.caller);
      return create(ReverseJournalEntryResponseSchema, { entry: journalEntryToProto(entry) });
    },

    async getJournalEntry(req) {
      const v = new Violations();
      let key: { id: string } | { ref: { type: string; id: string } } | null = null;
      if (req.key.case === "journalEntryId") {
        v.uuid("journal_entry_id", req.key.value);
        key = { id: req.key.value };
      } else if (req.key.case === "externalRef") {
        const type = refTypeOf(v, "external_ref.type", req.key.value.type, true);
        v.required("external_ref.id", req.key.value.id !== "").maxLength("external_ref.id", req.key.value.id, 200);
        key = { ref: { type: type ?? "", id: req.key.value.id } };
      } else {
        v.add("key", "journal_entry_id or external_ref is required", "REQUIRED");
      }
      check(v);
      const { entry, position } = await useCases.getEntry(key!);
      return create(GetJournalEntryResponseSchema, { entry: journalEntryToProto(entry), ledgerPosition: position });
    },

    async listJournalEntries(req) {
      const v = new Violations();
      const page = pageOf(v, req.page);
      const accountId = optionalUuid(v, "account_id", req.accountId);
      const vehicleId = optionalUuid(v, "vehicle_id", req.vehicleId);
      const externalRefType = refTypeOf(v, "external_ref_type", req.externalRefType, false);
      v.maxLength("external_ref_id", req.externalRefId, 200);
      const datedWithin = dateRangeOf(v, "dated_within", req.datedWithin, false);
      const asOfPosition = positionOf(v, "as_of_position", req.asOfPosition);
      check(v);
      const result = await useCases.listEntries({
        accountId, vehicleId, externalRefType, externalRefId: req.externalRefId === "" ? null : req.externalRefId, datedWithin,
      }, asOfPosition, page);
      return create(ListJournalEntriesResponseSchema, {
        entries: result.page.items.map(journalEntryToProto), page: pageResponse(result.page.nextPageToken), ledgerPosition: result.position,
      });
    },

    async closePeriod(req, ctx) {
      const v = new Violations().required("period", req.period !== "");
      v.maxLength("reason", req.reason, MAX_DESCRIPTION);
      check(v);
      return create(ClosePeriodResponseSchema, { period: accountingPeriodToProto(await useCases.closePeriod(req.period, req.reason, ctx.caller)) });
    },

    async reopenPeriod(req, ctx) {
      const v = new Violations().required("period", req.period !== "");
      const reason = requiredText(v, "reason", req.reason, MAX_DESCRIPTION);
      check(v);
      return create(ReopenPeriodResponseSchema, { period: accountingPeriodToProto(await useCases.reopenPeriod(req.period, reason, ctx.caller)) });
    },

    async listPeriods(req) {
      const v = new Violations();
      const page = pageOf(v, req.page);
      check(v);
      const result = await useCases.listPeriods(page);
      return create(ListPeriodsResponseSchema, { periods: result.items.map(accountingPeriodToProto), page: pageResponse(result.nextPageToken) });
    },

    async getLedgerPosition() {
      return create(GetLedgerPositionResponseSchema, { ledgerPosition: await useCases.position() });
    },
  };
}

