-- Triage writes a case's read-model row and the identifier rows of the report it took in,
-- in one statement (one round trip fewer per report).
CREATE FUNCTION save_case_with_identifiers(
    p_case_id uuid, p_version integer, p_status text, p_report_id uuid, p_state integer,
    p_district integer, p_opened_at timestamptz, p_body jsonb, p_model integer, p_level text,
    p_report_type text, p_assignee text, p_readers text[], p_partners text[], p_terms text[],
    p_overdue boolean, p_timer_stages text[], p_timer_due timestamptz[],
    p_from_report uuid, p_kinds text[], p_values text[]
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM save_case_view(p_case_id, p_version, p_status, p_report_id, p_state, p_district,
                           p_opened_at, p_body, p_model, p_level, p_report_type, p_assignee,
                           p_readers, p_partners, p_terms, p_overdue, p_timer_stages,
                           p_timer_due);
    INSERT INTO case_identifiers (kind, value, case_id, report_id)
        SELECT kind, value, p_case_id, p_from_report
          FROM unnest(p_kinds, p_values) AS u(kind, value)
    ON CONFLICT DO NOTHING;
END $$;
