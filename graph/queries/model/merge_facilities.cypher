UNWIND $facilities AS f
MERGE (fa:Facility {id: f.id})
SET fa.org = f.org, fa.name = f.name, fa.kind = f.kind, fa.country = f.country,
    fa.region = f.region
WITH fa, f
MATCH (x:Lot {id: f.lot})
MERGE (x)-[:AT]->(fa)
