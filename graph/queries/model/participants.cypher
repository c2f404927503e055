MATCH (o:Organisation)
WHERE o.endpoint IS NOT NULL
RETURN o {.id, .name, .roles, .country, .endpoint} AS participant
ORDER BY o.id
