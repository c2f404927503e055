// Risk-management records (OECD DDG step 3; issue 15): one node per signed record,
// unique by id, found by the organisation that made it.
CREATE CONSTRAINT risk_record_id IF NOT EXISTS
FOR (r:RiskRecord) REQUIRE r.id IS UNIQUE;

CREATE INDEX risk_record_org IF NOT EXISTS
FOR (r:RiskRecord) ON (r.org);
