import type { PaymentProviderPort } from "../../app/ports.js";

/**
 * Payments as the desk records them (cash, a card terminal's receipt, a
 * transfer's reference): no card network is called. Each step keeps the
 * reference the desk gave, or gets one that names the payment and the step,
 * so that every fact the ledger mirrors can be traced back.
 */
export function recordedPaymentProvider(): PaymentProviderPort {
  return {
    open: async ({ paymentId, provider, status, externalReference }) => ({
      reference: externalReference !== "" ? externalReference : `recorded:${provider}:${paymentId}:${status}`,
    }),
    change: async ({ paymentId, provider, to, externalReference }) => ({
      reference: externalReference !== "" ? externalReference : `recorded:${provider}:${paymentId}:${to}`,
    }),
  };
}
