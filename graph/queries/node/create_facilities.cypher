UNWIND $facilities AS facility
CREATE (f:NodeFacility)
SET f = facility
