// An input link points at a reference node for the input lot, which may belong
// to another organisation; consumers of an id are then one index seek away.
UNWIND $links AS link
MATCH (l:NodeLot {key: link.consumer_key})
MERGE (r:NodeLotRef {key: link.input_key})
  ON CREATE SET r.org = $org, r.id = link.input
CREATE (l)-[:CONSUMED {value: link.value, unit: link.unit, position: link.position}]->(r)
