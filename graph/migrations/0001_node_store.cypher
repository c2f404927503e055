// Participants' node stores on Neo4j. Every node keeps its records under its own
// `org`; keys are "<org>|<id>" because Community edition has single-property
// uniqueness constraints only (no node keys).
CREATE CONSTRAINT node_organisation_org IF NOT EXISTS
FOR (o:NodeOrganisation) REQUIRE o.org IS UNIQUE;

CREATE CONSTRAINT node_facility_key IF NOT EXISTS
FOR (f:NodeFacility) REQUIRE f.key IS UNIQUE;

CREATE CONSTRAINT node_lot_key IF NOT EXISTS
FOR (l:NodeLot) REQUIRE l.key IS UNIQUE;

CREATE CONSTRAINT node_lot_ref_key IF NOT EXISTS
FOR (r:NodeLotRef) REQUIRE r.key IS UNIQUE;

CREATE INDEX node_lot_facility IF NOT EXISTS
FOR (l:NodeLot) ON (l.org, l.facility);

CREATE INDEX node_shipment_lot IF NOT EXISTS
FOR (s:NodeShipment) ON (s.org, s.lot);

CREATE INDEX node_certificate_org IF NOT EXISTS
FOR (c:NodeCertificate) ON (c.org);
