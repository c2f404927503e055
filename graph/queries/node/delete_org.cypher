// Remove everything one participant's node store holds, before a reload.
MATCH (n)
WHERE (n:NodeOrganisation OR n:NodeFacility OR n:NodeLot OR n:NodeLotRef
       OR n:NodeShipment OR n:NodeCertificate)
  AND n.org = $org
DETACH DELETE n
