"""oretrail: trace the critical minerals in a product back to the mines they came from."""

__version__ = "0.1.0"
