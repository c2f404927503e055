// Lots whose recorded consumption across all their outputs exceeds their quantity.
MATCH (x:Lot)
WHERE x.allocation_ratio > 1 + $tolerance
RETURN x.id AS lot, x.owner AS owner, x.quantity_kg AS quantity_kg,
       x.allocated_kg AS allocated_kg, x.outputs AS outputs
ORDER BY lot
