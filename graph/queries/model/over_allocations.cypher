// Lots whose recorded consumption across all their outputs exceeds their quantity.
MATCH (x:Lot)<-[c:CONSUMED]-(:Lot)
WHERE x.quantity_kg IS NOT NULL
WITH x, sum(c.kg) AS allocated, count(c) AS outputs
WHERE allocated > x.quantity_kg * (1 + $tolerance)
RETURN x.id AS lot, x.owner AS owner, x.quantity_kg AS quantity_kg,
       allocated AS allocated_kg, outputs
ORDER BY lot
