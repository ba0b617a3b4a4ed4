// The ledger end to end through the gateway, with Kafka on for fleet, rental
// and the ledger (one topic prefix for the file): a rental driven over
// Connect ends in a balanced invoice on the ledger (from RentalCompleted), its
// payment and a partial refund (mirrored from rental's payment events), the
// revenue in the reports, a stored snapshot and its CSV download; 2^53 + 1
// survives Connect JSON and gRPC; a refund of rental's payment in the ledger
// is refused in favour of rental's own RPC.
import { createHash, randomUUID } from "node:crypto";
import { Code, createClient, type Client } from "@connectrpc/connect";
import anyTest, { type TestFn } from "ava";
import { FleetService } from "../../gen/fleetmesh/fleet/v1/fleet_service_pb.js";
import { InvoiceStatus } from "../../gen/fleetmesh/ledger/v1/invoice_pb.js";
import { EntryDirection } from "../../gen/fleetmesh/ledger/v1/journal_pb.js";
import { LedgerService } from "../../gen/fleetmesh/ledger/v1/ledger_service_pb.js";
import { ReportGranularity } from "../../gen/fleetmesh/ledger/v1/report_pb.js";
import { ReportingService } from "../../gen/fleetmesh/ledger/v1/reporting_service_pb.js";
import { PaymentProvider, RentalPaymentStatus, RentalStatus } from "../../gen/fleetmesh/rental/v1/rental_pb.js";
import { RentalService } from "../../gen/fleetmesh/rental/v1/rental_service_pb.js";
import { fleetKafkaConfig } from "../../services/fleet/test/events-support.js";
import { ACCOUNTS } from "../../services/ledger/src/domain/model.js";
import { TEST_BROKERS, waitFor } from "../../services/platform/src/testing/kafka.js";
import { AGENT, asRole, eur, futureBase, MANAGER, newCustomer, nextCount, periodAt, refused, startEventMesh, stopEventMesh, type EventMesh } from "./event-mesh.js";

const test = anyTest.serial as TestFn<EventMesh>;
const ACCOUNTANT = "00000000-0000-4000-8000-0000000acc07";

const kafkaOf = (prefix: string, service: string) => ({
  enabled: true,
  brokers: [...TEST_BROKERS],
  topicPrefix: prefix,
  relay: { pollIntervalMs: 2_000, leaderCheckMs: 250 },
  consumer: { groupId: `${prefix}${service}`, maxAttempts: 3, retryInitialMs: 20, retryMaxMs: 200, sessionTimeoutMs: 6_000 },
});

test.before(async (t) => {
  t.context = await startEventMesh(
    ["fleet.vehicle.v1", "rental.rental.v1", "maintenance.job.v1", "maintenance.part.v1", "ledger.invoice.v1", "ledger.payment.v1", "ledger.posting.v1"],
    (prefix) => ({
      fleetKafka: fleetKafkaConfig(prefix),
      rentalKafka: kafkaOf(prefix, "rental"),
      rentalSettings: { sweepCron: "0 0 1 1 *" },
      ledgerKafka: kafkaOf(prefix, "ledger"),
    }),
    { currencyCode: "EUR", dailyRate: eur(4_900n), perKmRate: eur(25n), includedKmPerDay: 200 },
  );
});
test.after.always(async (t) => stopEventMesh(t.context));

const ledgerVia = (c: EventMesh): Client<typeof LedgerService> => createClient(LedgerService, c.connect);
const reportingVia = (c: EventMesh): Client<typeof ReportingService> => createClient(ReportingService, c.connect);
const accountant = (c: EventMesh) => asRole(c.mesh, ACCOUNTANT, "accountant");

async function rentedAndReturned(c: EventMesh): Promise<{ rentalId: string; vehicleId: string; customer: string; total: bigint }> {
  const agent = asRole(c.mesh, AGENT, "rental_agent");
  const { vehicle } = await createClient(FleetService, c.connect).registerVehicle({
    plateNumber: `LF-${nextCount().toString(36)}${Date.now().toString(36).slice(-4)}`.toUpperCase(),
    attributes: { make: "Ford", model: "Transit", passengerCapacity: 9, loadLimitKg: 900 },
  }, asRole(c.mesh, MANAGER, "fleet_manager"));
  await waitFor("rental's projection to hold the vehicle", async () =>
    (await c.mesh.rentalDb.admin.query("SELECT 1 FROM vehicles WHERE vehicle_id = $1", [vehicle!.id])).rowCount ? true : undefined, 30_000);
  const customer = await newCustomer(c);
  const rental = createClient(RentalService, c.connect);
  const terms = { vehicleId: vehicle!.id, period: periodAt(futureBase(2), 0, 48), originLocationId: c.location, destinationLocationId: c.location, pricingPlanId: c.plan };
  const { quote } = await rental.quoteRental({ terms, customerId: customer }, agent);
  const { rental: reserved } = await rental.reserveRental({ customerId: customer, source: { case: "quoteId", value: quote!.id } }, agent);
  await rental.activateRental({ rentalId: reserved!.id, pickupOdometerKm: 1_000 }, agent);
  const completed = await rental.completeRental({ rentalId: reserved!.id, returnOdometerKm: 1_500 }, agent);
  if (completed.rental!.status !== RentalStatus.COMPLETED) throw new Error("the rental did not complete");
  return { rentalId: reserved!.id, vehicleId: vehicle!.id, customer, total: completed.rental!.chargesTotal!.amountMinor };
}

test("a rental ends in a balanced invoice, its payment and refund, revenue in the reports and a CSV download", async (t) => {
  const c = t.context;
  const { rentalId, vehicleId, customer, total } = await rentedAndReturned(c);
  const ledger = ledgerVia(c);

  // RentalCompleted → the invoice, receivable against revenue by charge type.
  const invoice = await waitFor("the rental's invoice", async () =>
    (await ledger.listInvoices({ rentalId }, accountant(c))).invoices[0], 60_000);
  t.is(invoice.customerId, customer);
  t.is(invoice.total!.amountMinor, total);
  t.is(invoice.status, InvoiceStatus.ISSUED);
  t.regex(invoice.number, /^INV-\d{4}-\d{6}$/);
  const posted = await ledger.getJournalEntry({ key: { case: "journalEntryId", value: invoice.journalEntryId } }, accountant(c));
  const sum = (dir: EntryDirection) => posted.entry!.lines.filter((l) => l.direction === dir).reduce((s, l) => s + l.amount!.amountMinor, 0n);
  t.is(sum(EntryDirection.DEBIT), total);
  t.is(sum(EntryDirection.CREDIT), total);

  // Paid at the desk (rental), then part refunded: the ledger mirrors both.
  const agent = asRole(c.mesh, AGENT, "rental_agent");
  const rental = createClient(RentalService, c.connect);
  const paid = await rental.recordRentalPayment({ rentalId, provider: PaymentProvider.CARD, amount: eur(total), status: RentalPaymentStatus.CAPTURED }, agent);
  const paidInvoice = await waitFor("the invoice paid", async () => {
    const { invoice: current } = await ledger.getInvoice({ invoiceId: invoice.id }, accountant(c));
    return current?.status === InvoiceStatus.PAID ? current : undefined;
  }, 60_000);
  t.is(paidInvoice.amountDue!.amountMinor, 0n);
  await rental.updateRentalPaymentStatus({ paymentId: paid.payment!.id, targetStatus: RentalPaymentStatus.REFUNDED, amount: eur(1_000n), reason: "goodwill" }, agent);
  const refundedInvoice = await waitFor("the refund applied", async () => {
    const { invoice: current } = await ledger.getInvoice({ invoiceId: invoice.id }, accountant(c));
    return current?.status === InvoiceStatus.PARTIALLY_PAID ? current : undefined;
  }, 60_000);
  t.is(refundedInvoice.amountDue!.amountMinor, 1_000n);

  // Rental owns refunds of its payments: the ledger points there.
  const { payments } = await ledger.listPayments({ invoiceId: invoice.id }, accountant(c));
  t.is(payments.length, 1);
  await refused(t, ledger.refundPayment({ paymentId: payments[0]!.id, reason: "again" }, accountant(c)), Code.FailedPrecondition, "PAYMENT_OWNED_BY_RENTAL");

  // The books balance, and the revenue is the vehicle's.
  const reporting = reportingVia(c);
  const today = invoice.issueDate;
  const { trialBalance, metadata } = await reporting.getTrialBalance({ parameters: { asOfDate: today } }, accountant(c));
  for (const totals of trialBalance!.totals) t.is(totals.debitTotal!.amountMinor, totals.creditTotal!.amountMinor, totals.currencyCode);
  t.true(metadata!.ledgerPosition > 0n);
  t.regex(metadata!.contentSha256, /^[0-9a-f]{64}$/);
  const receivable = trialBalance!.rows.find((r) => r.accountId === ACCOUNTS.ACCOUNTS_RECEIVABLE && r.currencyCode === "EUR");
  t.is(receivable?.debitBalance?.amountMinor, 1_000n);
  const tomorrow = new Date(Date.parse(`${today}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
  const revenue = await reporting.getRevenueReport({
    parameters: { period: { startDate: today, endDate: tomorrow }, vehicleIds: [vehicleId], granularity: ReportGranularity.PERIOD },
  }, accountant(c));
  t.deepEqual(revenue.report!.rows.map((r) => [r.vehicleId, r.revenue!.amountMinor, r.rentalCount]), [[vehicleId, total, 1]]);

  // The same report, stored, then downloaded as CSV with the same token.
  const { snapshot } = await reporting.generateReportSnapshot({
    parameters: { parameters: { case: "revenue", value: { period: { startDate: today, endDate: tomorrow }, granularity: ReportGranularity.DAY } } },
  }, accountant(c));
  const url = `${c.mesh.baseUrl}/v1/reports/snapshots/${snapshot!.id}.csv`;
  const download = await fetch(url, { headers: accountant(c).headers });
  t.is(download.status, 200);
  t.regex(download.headers.get("content-type") ?? "", /^text\/csv/);
  const csv = Buffer.from(await download.arrayBuffer());
  t.is(createHash("sha256").update(csv).digest("hex"), snapshot!.metadata!.contentSha256);
  t.true(csv.toString("utf8").includes(vehicleId));
  t.is((await fetch(url)).status, 401);
  t.is((await fetch(url, { headers: asRole(c.mesh, AGENT, "rental_agent").headers })).status, 403);
});

test("2^53 + 1 survives Connect JSON through the gateway and gRPC", async (t) => {
  const c = t.context;
  const big = 2n ** 53n + 1n;
  const { entry } = await ledgerVia(c).postJournalEntry({
    externalRefType: "manual", externalRefId: randomUUID(), entryDate: new Date().toISOString().slice(0, 10), description: "Capital",
    lines: [
      { accountId: ACCOUNTS.BANK, direction: EntryDirection.DEBIT, amount: eur(big) },
      { accountId: ACCOUNTS.OWNER_EQUITY, direction: EntryDirection.CREDIT, amount: eur(big) },
    ],
  }, accountant(c));
  t.is(entry!.lines[0]!.amount!.amountMinor, big);
  // Connect JSON carries int64 as a string: read the raw body.
  const raw = await fetch(`${c.mesh.baseUrl}/fleetmesh.ledger.v1.LedgerService/GetJournalEntry`, {
    method: "POST", headers: { ...accountant(c).headers, "content-type": "application/json" },
    body: JSON.stringify({ journalEntryId: entry!.id }),
  });
  t.true((await raw.text()).includes(`"amountMinor":"${big}"`));
  const viaGrpc = await createClient(LedgerService, c.grpc).getJournalEntry({ key: { case: "journalEntryId", value: entry!.id } }, accountant(c));
  t.is(viaGrpc.entry!.lines[1]!.amount!.amountMinor, big);
});
