UNWIND $shipments AS shipment
CREATE (s:NodeShipment)
SET s = shipment
