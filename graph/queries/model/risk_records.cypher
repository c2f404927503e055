// One organisation's own risk-management records, by signing time (ISO 8601 text
// in UTC, so it sorts as time) and id.
MATCH (r:RiskRecord {org: $org})
RETURN r {.id, .org, .flag, .lot, .decision, .rationale, .decided_on, .review_by,
          .signed_at, .token} AS record
ORDER BY r.signed_at, r.id
