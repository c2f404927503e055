MATCH (f:NodeFacility {org: $org})
RETURN f {.*} AS facility
ORDER BY f.id
