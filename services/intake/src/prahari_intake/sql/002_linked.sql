-- A report that triage attached to an existing case (the same rumour reported again) is
-- "linked" to that case: it opened none of its own.
ALTER TABLE report_status DROP CONSTRAINT report_status_status_check;
ALTER TABLE report_status ADD CONSTRAINT report_status_status_check
    CHECK (status IN ('received', 'case_opened', 'linked', 'rejected'));
