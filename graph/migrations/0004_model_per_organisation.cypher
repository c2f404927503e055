// The model answers each caller from its own organisation's traces (DESIGN.md, "The
// supply-chain model in Neo4j"): links are kept per recording organisation
// (CONSUMED.org), and what each organisation's traces saw of a lot in a LotView
// node keyed "<org>|<lot id>" (a node, not a relationship from the organisation,
// so that recording never expands an organisation with a million views).
// Links recorded before this migration name no organisation and were recorded
// under rules that let an unverified answer in (links to lots never opened,
// withheld masses as 0 kg), so they are dropped with the totals derived from them;
// the next trace of each caller records its links again. Trace records are kept.
MATCH ()-[r:CONSUMED]->() WHERE r.org IS NULL DELETE r;

MATCH ()-[s:SUPPLIES]->() DELETE s;

DROP INDEX lot_allocation_ratio IF EXISTS;

MATCH (x:Lot) WHERE x.allocated_kg IS NOT NULL OR x.allocation_ratio IS NOT NULL
REMOVE x.allocated_kg, x.allocation_ratio, x.outputs;

CREATE CONSTRAINT lot_view_key IF NOT EXISTS
FOR (v:LotView) REQUIRE v.key IS UNIQUE;

// An organisation's links are found from its views (every consuming lot it
// recorded has one), never by an index on CONSUMED.org: with one, MERGE of a link
// between two known lots seeks every link of the organisation instead of
// expanding the consumer's few.
CREATE INDEX lot_view_org IF NOT EXISTS
FOR (v:LotView) ON (v.org);

CREATE INDEX lot_view_facility IF NOT EXISTS
FOR (v:LotView) ON (v.org, v.facility);

// Over-allocation in the organisation's own links: ratio = allocated / quantity.
CREATE INDEX lot_view_ratio IF NOT EXISTS
FOR (v:LotView) ON (v.org, v.ratio);
