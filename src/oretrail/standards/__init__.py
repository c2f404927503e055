"""Speaking the field's standards: GS1 EPCIS 2.0 in and out (``epcis*``).

Each module maps between the domain's records (:mod:`oretrail.domain.model`) and
one standard's documents; what is read and written, and what is not covered, is in
docs/standards.md.
"""
