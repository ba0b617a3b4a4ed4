-- Billing: where each payment's money sits. A payment's amount is split into
--   applied_minor  on ACCOUNTS_RECEIVABLE against its invoice,
--   credit_minor   moved to CUSTOMER_CREDIT (the part above what the invoice owed),
--   refunded_minor returned to the customer,
--   the rest       held on CUSTOMER_DEPOSITS (rental payments and deposits
--                  received before their invoice).
-- rental_applied_minor: for rental deposits, the part rental settled against
-- the rental's charges (applied to the invoice as soon as it exists).
ALTER TABLE payments
  ADD COLUMN credit_minor bigint NOT NULL DEFAULT 0 CHECK (credit_minor >= 0),
  ADD COLUMN rental_applied_minor bigint NOT NULL DEFAULT 0 CHECK (rental_applied_minor >= 0),
  ADD CONSTRAINT payments_buckets_within_amount CHECK (applied_minor + credit_minor + refunded_minor <= amount_minor);
