UNWIND $lots AS lot
CREATE (l:NodeLot)
SET l = lot
