MERGE (a:TransparencyAnswer {key: $key})
ON CREATE SET a.answer = $answer
RETURN a.answer AS answer
