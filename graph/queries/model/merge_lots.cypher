// The lot structure a trace discovered: ids, owners, material and mass only.
// On the Lot: the best known over every trace (its owner's totals read it). On the
// recording organisation's SAW: what that organisation's traces saw. A placeholder
// (null) never replaces a known value; a known one replaces what was known.
UNWIND $lots AS l
MERGE (x:Lot {id: l.id})
SET x.owner = l.owner,
    x.material = coalesce(l.material, x.material),
    x.quantity_kg = coalesce(l.quantity_kg, x.quantity_kg)
MERGE (o:Organisation {id: l.owner})
MERGE (x)-[:OWNED_BY]->(o)
WITH x, l
MERGE (v:Organisation {id: $org})
MERGE (v)-[s:SAW]->(x)
SET s.material = coalesce(l.material, s.material),
    s.quantity_kg = coalesce(l.quantity_kg, s.quantity_kg),
    s.facility = coalesce(l.facility, s.facility)
