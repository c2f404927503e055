"""A participant's node: serves only its own organisation's data, by its own rules."""
