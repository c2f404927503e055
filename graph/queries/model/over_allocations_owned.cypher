// The caller's own lots consumed beyond their quantity, as totals over every
// recorded trace: each consuming lot counts once, with the best known mass any
// trace saw for it. Who consumed them is not returned.
MATCH (i:Lot {owner: $org})
WHERE i.quantity_kg IS NOT NULL
MATCH (c:Lot)-[r:CONSUMED]->(i)
WITH i, c, max(r.kg) AS kg
WITH i, sum(kg) AS allocated
WHERE allocated > i.quantity_kg * (1 + $tolerance)
RETURN i.id AS lot, i.owner AS owner, i.quantity_kg AS quantity_kg, allocated AS allocated_kg
ORDER BY lot
