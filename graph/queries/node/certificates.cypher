MATCH (c:NodeCertificate {org: $org})
WHERE c.subject IN $subjects
RETURN c {.*} AS certificate
ORDER BY c.id
