// The gateway's model of the supply chain: participants, facilities, the lot
// structure traces discovered, who supplies whom, and trace records.
CREATE CONSTRAINT organisation_id IF NOT EXISTS
FOR (o:Organisation) REQUIRE o.id IS UNIQUE;

CREATE CONSTRAINT facility_id IF NOT EXISTS
FOR (f:Facility) REQUIRE f.id IS UNIQUE;

CREATE CONSTRAINT lot_id IF NOT EXISTS
FOR (l:Lot) REQUIRE l.id IS UNIQUE;

CREATE CONSTRAINT trace_id IF NOT EXISTS
FOR (t:Trace) REQUIRE t.id IS UNIQUE;

CREATE INDEX lot_owner IF NOT EXISTS
FOR (l:Lot) ON (l.owner);

CREATE INDEX trace_root IF NOT EXISTS
FOR (t:Trace) ON (t.root);

CREATE INDEX trace_caller IF NOT EXISTS
FOR (t:Trace) ON (t.caller);
