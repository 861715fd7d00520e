-- Commands commit in one statement: the events (append_events: the version check, the hash
-- chain, the outbox rows), the case's read-model row and the Idempotency-Key's answer. One
-- round trip and no transaction held open while Python decides: the command reads the case,
-- decides, and this either commits all of it or refuses (a version or a key taken first).

-- The read-model row of a case: the one place its columns are written.
CREATE FUNCTION save_case_view(
    p_case_id uuid, p_version integer, p_status text, p_report_id uuid, p_state integer,
    p_district integer, p_opened_at timestamptz, p_body jsonb, p_model integer, p_level text,
    p_report_type text, p_assignee text, p_readers text[], p_partners text[], p_terms text[]
) RETURNS void LANGUAGE sql AS $$
    INSERT INTO case_view (case_id, version, status, report_id, state, district, opened_at,
                           body, model, level, report_type, assignee_unit, readers, partners,
                           search)
    VALUES (p_case_id, p_version, p_status, p_report_id, p_state, p_district, p_opened_at,
            p_body, p_model, p_level, p_report_type, p_assignee, p_readers, p_partners,
            array_to_tsvector(p_terms))
    ON CONFLICT (case_id) DO UPDATE SET version = excluded.version, status = excluded.status,
        state = excluded.state, district = excluded.district, body = excluded.body,
        model = excluded.model, level = excluded.level, report_type = excluded.report_type,
        assignee_unit = excluded.assignee_unit, readers = excluded.readers,
        partners = excluded.partners, search = excluded.search
    -- A row is only ever replaced by a later version, or by a newer model of the same one.
    WHERE case_view.version < excluded.version OR case_view.model < excluded.model;
$$;

CREATE FUNCTION commit_case_command(
    -- append_events' arguments; p_event_ids NULL when the command decided nothing
    p_stream text, p_expected integer, p_event_ids uuid[], p_types text[],
    p_versions integer[], p_recorded_at timestamptz, p_bodies bytea[], p_topic text,
    p_headers text[],
    -- save_case_view's arguments: the case after the command
    p_case_id uuid, p_version integer, p_status text, p_report_id uuid, p_state integer,
    p_district integer, p_opened_at timestamptz, p_body jsonb, p_model integer, p_level text,
    p_report_type text, p_assignee text, p_readers text[], p_partners text[], p_terms text[],
    -- the Idempotency-Key, NULL without one; its answer is the case's body and version
    p_scope text, p_key text, p_request_hash bytea
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF p_event_ids IS NOT NULL THEN
        PERFORM append_events(p_stream, p_expected, p_event_ids, p_types, p_versions,
                              p_recorded_at, p_bodies, p_topic, p_headers);
        PERFORM save_case_view(p_case_id, p_version, p_status, p_report_id, p_state,
                               p_district, p_opened_at, p_body, p_model, p_level,
                               p_report_type, p_assignee, p_readers, p_partners, p_terms);
    END IF;
    IF p_key IS NOT NULL THEN
        -- A twin that committed first makes this a unique violation: the caller reads
        -- again and answers with the twin's answer.
        INSERT INTO command_keys (scope, key, request_hash, case_id, version, body)
        VALUES (p_scope, p_key, p_request_hash, p_case_id, p_version, p_body);
    END IF;
END $$;
