// One answer per approved query, variables and closed reporting period (DESIGN.md,
// Trust 5): kept under a unique key, so two gateways answering the same period at
// once keep the first and both return it.
CREATE CONSTRAINT transparency_answer_key IF NOT EXISTS
FOR (a:TransparencyAnswer) REQUIRE a.key IS UNIQUE;
