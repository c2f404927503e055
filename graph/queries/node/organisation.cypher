MATCH (o:NodeOrganisation {org: $org})
RETURN o {.*} AS organisation
