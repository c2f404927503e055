UNWIND $keys AS key
MATCH (l:NodeLot {key: key})
OPTIONAL MATCH (l)-[c:CONSUMED]->(r:NodeLotRef)
WITH l, c, r
ORDER BY c.position
RETURN l {.*} AS lot,
       collect(CASE WHEN r IS NULL THEN null
                    ELSE {lot: r.id, value: c.value, unit: c.unit} END) AS inputs
