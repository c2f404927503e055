// Who supplies whom, by the input lot's material, in the links the caller's
// organisation recorded (found from the lots it recorded); a material its traces
// never saw reads "unknown".
MATCH (cv:LotView {org: $org})
MATCH (c:Lot {id: cv.lot})-[:CONSUMED {org: $org}]->(i:Lot)
WHERE c.owner <> i.owner
OPTIONAL MATCH (v:LotView {key: $org + '|' + i.id})
WITH DISTINCT i.owner AS supplier, c.owner AS customer, coalesce(v.material, $unknown) AS material
WHERE $material IS NULL OR material = $material
RETURN supplier, customer, material
ORDER BY material, supplier, customer
