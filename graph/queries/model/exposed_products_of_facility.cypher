// Which of the caller's traced products hold material produced at this facility,
// as the caller's organisation's traces saw the lots' facilities and links.
MATCH (v:LotView {org: $caller, facility: $facility})
MATCH (x:Lot {id: v.lot})<-[:CONSUMED {org: $caller}]-{0,50}(p:Lot)<-[:OF]-(t:Trace)
WHERE t.caller = $caller
RETURN DISTINCT p.id AS product
ORDER BY product
