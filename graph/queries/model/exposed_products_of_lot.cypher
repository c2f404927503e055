// Which of the caller's traced products hold material from this lot: one walk
// from the lot up through the links the caller's organisation recorded to the
// roots of its own traces.
MATCH (x:Lot {id: $lot})<-[:CONSUMED {org: $caller}]-{0,50}(p:Lot)<-[:OF]-(t:Trace)
WHERE t.caller = $caller
RETURN DISTINCT p.id AS product
ORDER BY product
