// The lot structure a trace discovered: ids, owners, material and mass only.
// On the Lot: the best known over every trace (its owner's totals read it). On the
// recording organisation's LotView: what that organisation's traces saw. A
// placeholder (null) never replaces a known value; a known one replaces it.
UNWIND $lots AS l
MERGE (x:Lot {id: l.id})
SET x.owner = l.owner,
    x.material = coalesce(l.material, x.material),
    x.quantity_kg = coalesce(l.quantity_kg, x.quantity_kg)
MERGE (o:Organisation {id: l.owner})
MERGE (x)-[:OWNED_BY]->(o)
MERGE (v:LotView {key: $org + '|' + l.id})
SET v.org = $org,
    v.lot = l.id,
    v.material = coalesce(l.material, v.material),
    v.quantity_kg = coalesce(l.quantity_kg, v.quantity_kg),
    v.facility = coalesce(l.facility, v.facility)
SET v.ratio = CASE WHEN v.quantity_kg > 0 AND v.allocated_kg IS NOT NULL
                   THEN v.allocated_kg / v.quantity_kg END
