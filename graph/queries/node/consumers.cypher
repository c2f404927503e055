UNWIND $keys AS key
MATCH (r:NodeLotRef {key: key})<-[c:CONSUMED]-(l:NodeLot)
RETURN r.id AS input, l.id AS consumer, c.value AS value, c.unit AS unit
ORDER BY consumer
