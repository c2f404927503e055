CREATE (t:Trace)
SET t = $trace, t.at = datetime($trace.at), t.as_of = date($trace.as_of)
WITH t
MATCH (root:Lot {id: $trace.root})
CREATE (t)-[:OF]->(root)
WITH t
UNWIND $trace.origins AS origin
MATCH (x:Lot {id: origin})
CREATE (t)-[:REACHED]->(x)
