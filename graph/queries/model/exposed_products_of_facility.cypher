// Which traced products hold material produced at this facility.
MATCH (:Facility {id: $facility})<-[:AT]-(x:Lot)<-[:CONSUMED*0..50]-(p:Lot)<-[:OF]-(t:Trace)
WHERE $caller IS NULL OR t.caller = $caller
RETURN DISTINCT p.id AS product
ORDER BY product
