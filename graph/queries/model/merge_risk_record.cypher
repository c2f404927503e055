// A verified risk-management record, kept under its organisation; the same record
// (same id, the signed token's jti) kept twice is kept once and never changed.
MERGE (r:RiskRecord {id: $record.id})
ON CREATE SET r = $record
