// Links as the recording organisation's traces saw them, one per (organisation,
// consumer, input). Duplicates within one record arrive already added up; a link
// seen again keeps its best known mass: null never erases, a smaller figure never
// lowers, and the same link seen twice is not counted twice. The input's LotView
// (written by merge_lots in the same transaction) keeps the organisation's running
// total and ratio, so its over-allocation is an index read, not a scan of links.
UNWIND $edges AS e
MATCH (c:Lot {id: e.consumer})
MATCH (i:Lot {id: e.input})
MERGE (iv:LotView {key: $org + '|' + e.input})
// Written before its total is read: the write lock serialises concurrent records of
// one organisation on this view, so their masses add up instead of overwriting.
SET iv.org = $org, iv.lot = e.input
MERGE (c)-[r:CONSUMED {org: $org}]->(i)
  ON CREATE SET iv.outputs = coalesce(iv.outputs, 0) + 1
WITH e, r, iv, coalesce(r.kg, 0.0) AS before
SET r.kg = CASE
  WHEN e.kg IS NULL THEN r.kg
  WHEN r.kg IS NULL OR e.kg > r.kg THEN e.kg
  ELSE r.kg
END
WITH r, iv, before
SET iv.allocated_kg = coalesce(iv.allocated_kg, 0.0) + coalesce(r.kg, 0.0) - before
SET iv.ratio = CASE WHEN iv.quantity_kg > 0 THEN iv.allocated_kg / iv.quantity_kg END
