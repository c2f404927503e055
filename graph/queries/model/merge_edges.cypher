// Links, and on each input lot the running total allocated to its consumers, so
// over-allocation is an index read rather than a scan of every link.
UNWIND $edges AS e
MATCH (c:Lot {id: e.consumer})
MATCH (i:Lot {id: e.input})
MERGE (c)-[r:CONSUMED]->(i)
  ON CREATE SET r.kg = e.kg,
                i.allocated_kg = coalesce(i.allocated_kg, 0.0) + e.kg,
                i.outputs = coalesce(i.outputs, 0) + 1
  ON MATCH SET i.allocated_kg = i.allocated_kg + e.kg - r.kg,
               r.kg = e.kg
SET i.allocation_ratio = CASE WHEN i.quantity_kg > 0 THEN i.allocated_kg / i.quantity_kg END
