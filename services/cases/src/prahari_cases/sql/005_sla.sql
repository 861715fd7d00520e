-- SLA clocks. Each running deadline of a case is a durable timer, written with the events that
-- set or clear it (save_case_view keeps the case's timers equal to its deadlines); the timer
-- loop claims due ones with FOR UPDATE SKIP LOCKED, so each fires once across processes.
ALTER TABLE case_view ADD COLUMN overdue boolean NOT NULL DEFAULT false;
CREATE INDEX case_view_overdue ON case_view (opened_at DESC, case_id DESC) WHERE overdue;

CREATE TABLE case_timers (
    case_id uuid        NOT NULL,
    stage   text        NOT NULL,
    due_at  timestamptz NOT NULL,
    PRIMARY KEY (case_id, stage)
);
CREATE INDEX case_timers_due ON case_timers (due_at);

DROP FUNCTION commit_case_command(text, integer, uuid[], text[], integer[], timestamptz,
    bytea[], text, text[], uuid, integer, text, uuid, integer, integer, timestamptz, jsonb,
    integer, text, text, text, text[], text[], text[], text, text, bytea);
DROP FUNCTION save_case_view(uuid, integer, text, uuid, integer, integer, timestamptz, jsonb,
    integer, text, text, text, text[], text[], text[]);

CREATE FUNCTION save_case_view(
    p_case_id uuid, p_version integer, p_status text, p_report_id uuid, p_state integer,
    p_district integer, p_opened_at timestamptz, p_body jsonb, p_model integer, p_level text,
    p_report_type text, p_assignee text, p_readers text[], p_partners text[], p_terms text[],
    p_overdue boolean, p_timer_stages text[], p_timer_due timestamptz[]
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO case_view (case_id, version, status, report_id, state, district, opened_at,
                           body, model, level, report_type, assignee_unit, readers, partners,
                           search, overdue)
    VALUES (p_case_id, p_version, p_status, p_report_id, p_state, p_district, p_opened_at,
            p_body, p_model, p_level, p_report_type, p_assignee, p_readers, p_partners,
            array_to_tsvector(p_terms), p_overdue)
    ON CONFLICT (case_id) DO UPDATE SET version = excluded.version, status = excluded.status,
        state = excluded.state, district = excluded.district, body = excluded.body,
        model = excluded.model, level = excluded.level, report_type = excluded.report_type,
        assignee_unit = excluded.assignee_unit, readers = excluded.readers,
        partners = excluded.partners, search = excluded.search, overdue = excluded.overdue
    -- A row is only ever replaced by a later version, or by a newer model of the same one.
    WHERE case_view.version < excluded.version OR case_view.model < excluded.model;
    IF NOT FOUND THEN
        RETURN;  -- an older write: its timers are older too
    END IF;
    -- The case's timers are exactly its running deadlines.
    DELETE FROM case_timers t WHERE t.case_id = p_case_id
        AND NOT EXISTS (SELECT 1 FROM unnest(p_timer_stages, p_timer_due) AS d(stage, due_at)
                        WHERE d.stage = t.stage AND d.due_at = t.due_at);
    INSERT INTO case_timers (case_id, stage, due_at)
        SELECT p_case_id, stage, due_at FROM unnest(p_timer_stages, p_timer_due) AS d(stage, due_at)
    ON CONFLICT (case_id, stage) DO UPDATE SET due_at = excluded.due_at;
END $$;

CREATE FUNCTION commit_case_command(
    -- append_events' arguments; p_event_ids NULL when the command decided nothing
    p_stream text, p_expected integer, p_event_ids uuid[], p_types text[],
    p_versions integer[], p_recorded_at timestamptz, p_bodies bytea[], p_topic text,
    p_headers text[],
    -- save_case_view's arguments: the case after the command
    p_case_id uuid, p_version integer, p_status text, p_report_id uuid, p_state integer,
    p_district integer, p_opened_at timestamptz, p_body jsonb, p_model integer, p_level text,
    p_report_type text, p_assignee text, p_readers text[], p_partners text[], p_terms text[],
    p_overdue boolean, p_timer_stages text[], p_timer_due timestamptz[],
    -- the Idempotency-Key, NULL without one; its answer is the case's body and version
    p_scope text, p_key text, p_request_hash bytea
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF p_event_ids IS NOT NULL THEN
        PERFORM append_events(p_stream, p_expected, p_event_ids, p_types, p_versions,
                              p_recorded_at, p_bodies, p_topic, p_headers);
        PERFORM save_case_view(p_case_id, p_version, p_status, p_report_id, p_state,
                               p_district, p_opened_at, p_body, p_model, p_level,
                               p_report_type, p_assignee, p_readers, p_partners, p_terms,
                               p_overdue, p_timer_stages, p_timer_due);
    END IF;
    IF p_key IS NOT NULL THEN
        -- A twin that committed first makes this a unique violation: the caller reads
        -- again and answers with the twin's answer.
        INSERT INTO command_keys (scope, key, request_hash, case_id, version, body)
        VALUES (p_scope, p_key, p_request_hash, p_case_id, p_version, p_body);
    END IF;
END $$;
