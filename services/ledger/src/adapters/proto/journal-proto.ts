// Journal, account and period messages <-> domain types.
import { create } from "@bufbuild/protobuf";
import {
  AccountingPeriodSchema,
  PeriodStatus as ProtoPeriodStatus,
  PeriodStatusChangeSchema,
  type AccountingPeriod as ProtoAccountingPeriod,
} from "../../../../../gen/fleetmesh/ledger/v1/invoice_pb.js";
import { AccountSchema, AccountType as ProtoAccountType, CurrencyBalanceSchema, type Account as ProtoAccount, type CurrencyBalance as ProtoCurrencyBalance } from "../../../../../gen/fleetmesh/ledger/v1/account_pb.js";
import {
  EntryDirection,
  JournalEntrySchema,
  JournalLineSchema,
  type JournalEntry as ProtoJournalEntry,
} from "../../../../../gen/fleetmesh/ledger/v1/journal_pb.js";
import { enumFromProto, moneyToProto, textOrEmpty, timeToProto } from "../../../../platform/src/proto-common.js";
import { money } from "../../../../platform/src/money.js";
import type { Account, AccountingPeriod, AccountType, CurrencyBalance, Direction, JournalEntry, PeriodStatus } from "../../domain/model.js";

export const ACCOUNT_TYPE_TO_PROTO: Readonly<Record<AccountType, ProtoAccountType>> = {
  ASSET: ProtoAccountType.ASSET,
  LIABILITY: ProtoAccountType.LIABILITY,
  EQUITY: ProtoAccountType.EQUITY,
  REVENUE: ProtoAccountType.REVENUE,
  EXPENSE: ProtoAccountType.EXPENSE,
};
export const accountTypeFromProto = enumFromProto(ACCOUNT_TYPE_TO_PROTO);

export const DIRECTION_TO_PROTO: Readonly<Record<Direction, EntryDirection>> = {
  DEBIT: EntryDirection.DEBIT,
  CREDIT: EntryDirection.CREDIT,
};
export const directionFromProto = enumFromProto(DIRECTION_TO_PROTO);

const PERIOD_STATUS_TO_PROTO: Readonly<Record<PeriodStatus, ProtoPeriodStatus>> = {
  OPEN: ProtoPeriodStatus.OPEN,
  CLOSED: ProtoPeriodStatus.CLOSED,
};

export const accountToProto = (a: Account): ProtoAccount => create(AccountSchema, {
  id: a.id, code: a.code, name: a.name, type: ACCOUNT_TYPE_TO_PROTO[a.type], description: a.description, rowVersion: a.rowVersion,
  createTime: timeToProto(a.createTime), updateTime: timeToProto(a.updateTime), createdBy: a.createdBy, updatedBy: a.updatedBy,
});

export const currencyBalanceToProto = (b: CurrencyBalance): ProtoCurrencyBalance => create(CurrencyBalanceSchema, {
  currencyCode: b.currency,
  debitTotal: moneyToProto(money(b.debitTotal, b.currency)),
  creditTotal: moneyToProto(money(b.creditTotal, b.currency)),
  balance: moneyToProto(money(b.balance, b.currency)),
});

export const journalEntryToProto = (e: JournalEntry): ProtoJournalEntry => create(JournalEntrySchema, {
  id: e.id,
  externalRefType: e.externalRef.type,
  externalRefId: e.externalRef.id,
  entryDate: e.entryDate,
  description: e.description,
  lines: e.lines.map((l) => create(JournalLineSchema, {
    id: l.id, accountId: l.accountId, accountCode: l.accountCode, direction: DIRECTION_TO_PROTO[l.direction],
    amount: moneyToProto(l.amount), vehicleId: textOrEmpty(l.vehicleId), memo: l.memo,
  })),
  postTime: timeToProto(e.postTime),
  postedBy: e.postedBy,
  reversesEntryId: textOrEmpty(e.reversesEntryId),
  reversedByEntryId: textOrEmpty(e.reversedByEntryId),
  position: e.position,
  factDate: textOrEmpty(e.factDate),
});

export const accountingPeriodToProto = (p: AccountingPeriod): ProtoAccountingPeriod => create(AccountingPeriodSchema, {
  period: p.period, startDate: p.startDate, endDate: p.endDate, status: PERIOD_STATUS_TO_PROTO[p.status],
  history: p.history.map((h) => create(PeriodStatusChangeSchema, {
    status: PERIOD_STATUS_TO_PROTO[h.status], changedBy: h.changedBy, reason: h.reason, changeTime: timeToProto(h.changeTime),
  })),
});
