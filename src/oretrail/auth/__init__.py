"""Keys, tokens, continuation grants and policies: framework-free, shared by CLI, node, gateway."""
