MATCH (a:Organisation)-[r:SUPPLIES]->(b:Organisation)
WHERE $material IS NULL OR r.material = $material
RETURN a.id AS supplier, b.id AS customer, r.material AS material
ORDER BY material, supplier, customer
