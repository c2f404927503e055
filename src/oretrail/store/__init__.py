"""Storage: the GraphStore port, its adapters, and seed files."""
