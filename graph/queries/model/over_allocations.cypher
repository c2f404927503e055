// Lots the caller's organisation's links consume beyond the quantity its traces saw
// (known masses only: a withheld one is not read as zero, nor as anything else).
// The caller's own lots are left to over_allocations_owned.cypher.
MATCH (c:Lot)-[r:CONSUMED {org: $org}]->(i:Lot)
WHERE i.owner <> $org
WITH i, sum(r.kg) AS allocated, count(c) AS outputs
MATCH (v:LotView {key: $org + '|' + i.id})
WHERE v.quantity_kg IS NOT NULL AND allocated > v.quantity_kg * (1 + $tolerance)
RETURN i.id AS lot, i.owner AS owner, v.quantity_kg AS quantity_kg,
       allocated AS allocated_kg, outputs
ORDER BY lot
