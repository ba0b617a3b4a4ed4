-- Invoices and payments as they stood at a ledger position. Their rows hold
-- the current state (status and amounts move with payments, refunds, credit
-- notes and voids); every such change is also a journal entry with a
-- position, so the state at position P is derived from the journal:
--   - an invoice exists at P when its own entry does;
--   - paid = credits to its receivable (ACCOUNTS_RECEIVABLE lines carrying
--     the invoice) from payments, applications of held money and customer
--     credit, minus debits to it from refunds; credited = credits from
--     credit notes; credit_applied = credits from customer credit; VOID once
--     its void entry is at or below P;
--   - a payment exists at P when its capture entry does; its refunds are
--     those whose entries are at or below P, and its status follows them.
-- The same columns as the tables, so a read swaps the table for the function.

CREATE FUNCTION invoices_as_of(at_position bigint) RETURNS SETOF invoices LANGUAGE sql STABLE AS $$
  SELECT i.id, i.number, i.customer_id, i.rental_id, i.external_ref_type, i.external_ref_id, i.content_hash,
         CASE WHEN a.voided THEN 'VOID'
              WHEN i.total_minor - a.paid - a.credited = 0 THEN CASE WHEN a.credited > 0 THEN 'CREDITED' ELSE 'PAID' END
              WHEN a.paid > 0 THEN 'PARTIALLY_PAID'
              ELSE 'ISSUED' END,
         i.currency, i.total_minor, a.paid, a.credited, a.credit_applied, i.issue_date, i.due_date, i.notes, i.journal_entry_id,
         CASE WHEN a.voided THEN i.void_reason END, CASE WHEN a.voided THEN i.void_time END,
         i.row_version, i.create_time, i.update_time, i.created_by, i.updated_by
    FROM invoices i
    JOIN journal_entries issued ON issued.id = i.journal_entry_id AND issued.position <= at_position
    CROSS JOIN LATERAL (
      SELECT (coalesce(sum(l.amount_minor) FILTER (WHERE l.direction = 'C' AND e.external_ref_type NOT IN ('credit_note', 'invoice_void')), 0)
            - coalesce(sum(l.amount_minor) FILTER (WHERE l.direction = 'D' AND e.external_ref_type NOT IN ('invoice', 'invoice_void')), 0))::bigint AS paid,
             coalesce(sum(l.amount_minor) FILTER (WHERE l.direction = 'C' AND e.external_ref_type = 'credit_note'), 0)::bigint AS credited,
             coalesce(sum(l.amount_minor) FILTER (WHERE l.direction = 'C' AND e.external_ref_type = 'customer_credit_apply'), 0)::bigint AS credit_applied,
             coalesce(bool_or(e.external_ref_type = 'invoice_void'), false) AS voided
        FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id
       WHERE l.invoice_id = i.id AND l.account_id = '00000000-0000-4000-8000-000000001100' AND l.position <= at_position
    ) a
$$;

CREATE FUNCTION refunds_as_of(at_position bigint) RETURNS SETOF refunds LANGUAGE sql STABLE AS $$
  SELECT f.* FROM refunds f JOIN journal_entries e ON e.id = f.journal_entry_id AND e.position <= at_position
$$;

CREATE FUNCTION payments_as_of(at_position bigint) RETURNS SETOF payments LANGUAGE sql STABLE AS $$
  SELECT p.id, p.invoice_id, p.customer_id, p.rental_id, p.rental_payment_id, p.kind, p.provider, p.currency, p.amount_minor,
         p.applied_minor, r.refunded,
         CASE WHEN r.refunded = 0 THEN 'CAPTURED' WHEN r.refunded >= p.amount_minor THEN 'REFUNDED' ELSE 'PARTIALLY_REFUNDED' END,
         p.external_reference, p.capture_time, p.journal_entry_id, p.row_version, p.create_time, p.update_time, p.created_by,
         p.credit_minor, p.rental_applied_minor
    FROM payments p
    JOIN journal_entries captured ON captured.id = p.journal_entry_id AND captured.position <= at_position
    CROSS JOIN LATERAL (
      SELECT coalesce(sum(f.amount_minor), 0)::bigint AS refunded
        FROM refunds f JOIN journal_entries e ON e.id = f.journal_entry_id AND e.position <= at_position
       WHERE f.payment_id = p.id
    ) r
$$;

CREATE FUNCTION credit_notes_as_of(at_position bigint) RETURNS SETOF credit_notes LANGUAGE sql STABLE AS $$
  SELECT n.* FROM credit_notes n JOIN journal_entries e ON e.id = n.journal_entry_id AND e.position <= at_position
$$;
