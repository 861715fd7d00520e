-- Triage: every identifier each case holds, by the report it came from (so an attachment
-- undone can take its report's identifiers with it). Looked up by (kind, value).
CREATE TABLE case_identifiers (
    kind      text NOT NULL,
    value     text NOT NULL,
    case_id   uuid NOT NULL,
    report_id uuid NOT NULL,
    PRIMARY KEY (kind, value, case_id, report_id)
);
CREATE INDEX case_identifiers_by_case ON case_identifiers (case_id);
