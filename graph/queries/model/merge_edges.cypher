// Links as the recording organisation's traces saw them, one per (organisation,
// consumer, input). Duplicates within one record arrive already added up; a link
// seen again keeps its best known mass: null never erases, a smaller figure never
// lowers, and the same link seen twice is not counted twice.
UNWIND $edges AS e
MATCH (c:Lot {id: e.consumer})
MATCH (i:Lot {id: e.input})
MERGE (c)-[r:CONSUMED {org: $org}]->(i)
SET r.kg = CASE
  WHEN e.kg IS NULL THEN r.kg
  WHEN r.kg IS NULL OR e.kg > r.kg THEN e.kg
  ELSE r.kg
END
