// The model answers each caller from its own organisation's traces (DESIGN.md, "The
// supply-chain model in Neo4j"): links are kept per recording organisation
// (CONSUMED.org) and each organisation's view of a lot on its SAW relationship.
// Links recorded before this migration name no organisation and were recorded
// under rules that let an unverified answer in (links to lots never opened,
// withheld masses as 0 kg), so they are dropped with the totals derived from them;
// the next trace of each caller records its links again. Trace records are kept.
MATCH ()-[r:CONSUMED]->() WHERE r.org IS NULL DELETE r;

MATCH ()-[s:SUPPLIES]->() DELETE s;

DROP INDEX lot_allocation_ratio IF EXISTS;

MATCH (x:Lot) WHERE x.allocated_kg IS NOT NULL OR x.allocation_ratio IS NOT NULL
REMOVE x.allocated_kg, x.allocation_ratio, x.outputs;

CREATE INDEX consumed_org IF NOT EXISTS
FOR ()-[r:CONSUMED]-() ON (r.org);

CREATE INDEX saw_facility IF NOT EXISTS
FOR ()-[s:SAW]-() ON (s.facility);
