UNWIND $supplies AS s
MERGE (a:Organisation {id: s.supplier})
MERGE (b:Organisation {id: s.customer})
MERGE (a)-[:SUPPLIES {material: s.material}]->(b)
