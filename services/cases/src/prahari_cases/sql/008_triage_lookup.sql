-- Triage's reads in one round trip: take the report's identifier locks (in the order given,
-- sorted by the caller), then read the candidate cases and the active watchlist entries.
-- The function is VOLATILE, so each statement in it takes a fresh snapshot: the reads after
-- the locks see what a report holding them before us committed.
CREATE FUNCTION triage_lookup(
    p_keys text[], p_kinds text[], p_values text[], p_exclude uuid, p_now timestamptz
) RETURNS TABLE (
    case_id uuid, kind text, value text, state integer, report_type text,
    opened_at timestamptz, entry jsonb
) LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest(p_keys) AS k;
    -- Per identifier and state, only the oldest and the latest open case.
    RETURN QUERY
    WITH m AS (
        SELECT DISTINCT i.case_id, i.kind, i.value, v.state, v.report_type, v.opened_at
          FROM case_identifiers i JOIN case_view v ON v.case_id = i.case_id
         WHERE (i.kind, i.value) IN (SELECT * FROM unnest(p_kinds, p_values))
           AND v.status <> 'closed' AND i.case_id <> p_exclude)
    (SELECT DISTINCT ON (m.kind, m.value, m.state) m.*, NULL::jsonb FROM m
      ORDER BY m.kind, m.value, m.state, m.opened_at DESC, m.case_id DESC)
    UNION
    (SELECT DISTINCT ON (m.kind, m.value, m.state) m.*, NULL::jsonb FROM m
      ORDER BY m.kind, m.value, m.state, m.opened_at, m.case_id);
    RETURN QUERY
    SELECT NULL::uuid, w.kind, w.value, NULL::integer, NULL::text, NULL::timestamptz, w.body
      FROM watchlist w
     WHERE NOT w.removed AND w.expires_at > p_now
       AND (w.kind, w.value) IN (SELECT * FROM unnest(p_kinds, p_values));
END $$;
