"""The gateway: verifies callers, plans traces, calls nodes and assembles the answer."""
