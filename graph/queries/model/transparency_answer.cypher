MATCH (a:TransparencyAnswer {key: $key})
RETURN a.answer AS answer
