// Over-allocation reads lots by allocated/quantity, kept up to date on every write.
CREATE INDEX lot_allocation_ratio IF NOT EXISTS
FOR (l:Lot) ON (l.allocation_ratio);
