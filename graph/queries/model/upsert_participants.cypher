UNWIND $participants AS p
MERGE (o:Organisation {id: p.id})
SET o.name = p.name, o.roles = p.roles, o.country = p.country, o.endpoint = p.endpoint
