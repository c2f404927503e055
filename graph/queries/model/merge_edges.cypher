UNWIND $edges AS e
MATCH (c:Lot {id: e.consumer})
MATCH (i:Lot {id: e.input})
MERGE (c)-[r:CONSUMED]->(i)
SET r.kg = e.kg
