-- Seizure tallies: each record (a seizure report, a case's seizure record) in seizure_items,
-- each real seizure once in seizures, with every agency that recorded it. Fed by the cases
-- consumer from the reports topic and cases' own topic; rebuilt from them the same way.
CREATE TABLE seizures (
    seizure_id uuid    PRIMARY KEY,          -- the group: the first record of the seizure
    state      integer NOT NULL,
    district   integer NOT NULL,
    day        date    NOT NULL,             -- IST
    category   text    NOT NULL,
    unit       text    NOT NULL,
    quantity   numeric NOT NULL,
    value_inr  bigint  NOT NULL,
    agencies   text[]  NOT NULL
);
CREATE INDEX seizures_by_place_day ON seizures (state, day, district);

CREATE TABLE seizure_items (
    item_id    uuid PRIMARY KEY,
    seizure_id uuid NOT NULL,
    fir_key    text,
    source     text NOT NULL
);
CREATE INDEX seizure_items_by_key ON seizure_items (fir_key) WHERE fir_key IS NOT NULL;
CREATE INDEX seizure_items_by_seizure ON seizure_items (seizure_id);

-- One record in: joins the seizure it names or shares an FIR with, or starts its own.
CREATE FUNCTION record_seizure(
    p_item uuid, p_same_as uuid, p_key text, p_source text, p_state integer,
    p_district integer, p_day date, p_category text, p_unit text, p_quantity numeric,
    p_value bigint, p_agency text
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    target uuid;
BEGIN
    -- Records of one FIR arrive one after another, whichever partition each came on.
    PERFORM pg_advisory_xact_lock(hashtextextended('seizure:' || coalesce(p_key, p_item::text), 0));
    IF EXISTS (SELECT 1 FROM seizure_items WHERE item_id = p_item) THEN
        RETURN;  -- seen before
    END IF;
    IF p_same_as IS NOT NULL THEN
        SELECT seizure_id INTO target FROM seizure_items WHERE item_id = p_same_as;
        -- Named before it arrived: the group takes the named record's id, which it will
        -- join when it comes.
        target := coalesce(target, p_same_as);
    ELSIF p_key IS NOT NULL THEN
        SELECT seizure_id INTO target FROM seizure_items WHERE fir_key = p_key LIMIT 1;
    END IF;
    target := coalesce(target, p_item);
    -- A group started by a record that named this one joins this one's group.
    IF target <> p_item AND EXISTS (SELECT 1 FROM seizures WHERE seizure_id = p_item) THEN
        UPDATE seizure_items SET seizure_id = target WHERE seizure_id = p_item;
        UPDATE seizures s SET agencies = ARRAY(
            SELECT DISTINCT a FROM unnest(s.agencies || (SELECT agencies FROM seizures
                                                         WHERE seizure_id = p_item)) AS a
            ORDER BY a)
         WHERE s.seizure_id = target;
        DELETE FROM seizures WHERE seizure_id = p_item;
    END IF;
    INSERT INTO seizure_items (item_id, seizure_id, fir_key, source)
    VALUES (p_item, target, p_key, p_source);
    INSERT INTO seizures (seizure_id, state, district, day, category, unit, quantity,
                          value_inr, agencies)
    VALUES (target, p_state, p_district, p_day, p_category, p_unit, p_quantity, p_value,
            ARRAY[p_agency])
    ON CONFLICT (seizure_id) DO UPDATE SET agencies = ARRAY(
        SELECT DISTINCT a FROM unnest(seizures.agencies || ARRAY[p_agency]) AS a ORDER BY a);
END $$;
