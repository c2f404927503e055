MATCH (l:NodeLot {org: $org, facility: $facility})
RETURN l.id AS id
ORDER BY id
