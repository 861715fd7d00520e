-- notify's own projection of who may see each case (issue 9, item 2), folded from the case
-- events by domain/access.py and checked with the shared policy (prahari_events.policy).
CREATE TABLE case_access (
    case_id uuid    PRIMARY KEY,
    version integer NOT NULL,
    access  jsonb   NOT NULL
);
