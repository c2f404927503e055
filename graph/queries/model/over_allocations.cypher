// Lots the caller's organisation's links consume beyond the quantity its traces saw
// (known masses only: a withheld one is not read as zero, nor as anything else):
// an index read of its LotViews by ratio. Its own lots are left to
// over_allocations_owned.cypher.
MATCH (v:LotView)
WHERE v.org = $org AND v.ratio > 1 + $tolerance
MATCH (i:Lot {id: v.lot})
WHERE i.owner <> $org
RETURN i.id AS lot, i.owner AS owner, v.quantity_kg AS quantity_kg,
       v.allocated_kg AS allocated_kg, v.outputs AS outputs
ORDER BY lot
