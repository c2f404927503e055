// Which traced products hold material from this lot: one variable-length walk
// from the lot up through its consumers to the roots of recorded traces.
MATCH (x:Lot {id: $lot})<-[:CONSUMED*0..50]-(p:Lot)<-[:OF]-(t:Trace)
WHERE $caller IS NULL OR t.caller = $caller
RETURN DISTINCT p.id AS product
ORDER BY product
