// The lot structure a trace discovered: ids, owners, material and mass only.
UNWIND $lots AS l
MERGE (x:Lot {id: l.id})
SET x.owner = l.owner,
    x.material = coalesce(l.material, x.material),
    x.quantity_kg = coalesce(l.quantity_kg, x.quantity_kg)
SET x.allocation_ratio = CASE WHEN x.quantity_kg > 0 AND x.allocated_kg IS NOT NULL
                              THEN x.allocated_kg / x.quantity_kg END
MERGE (o:Organisation {id: l.owner})
MERGE (x)-[:OWNED_BY]->(o)
