UNWIND $ids AS id
MATCH (s:NodeShipment {org: $org, lot: id})
RETURN s {.*} AS shipment
ORDER BY s.date, s.to_org
