MATCH (t:Trace)
WHERE ($root IS NULL OR t.root = $root) AND ($caller IS NULL OR t.caller = $caller)
RETURN t {.*, at: toString(t.at), as_of: toString(t.as_of)} AS trace
ORDER BY t.at DESC, t.id
LIMIT $limit
