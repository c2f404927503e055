"""GraphQL types that the node and gateway schemas share, so both name them alike."""

from __future__ import annotations

import strawberry

from oretrail.domain.model import Custody

__all__ = ["CustodyModel"]

CustodyModel = strawberry.enum(
    Custody,
    name="CustodyModel",
    description="ISO 22095 chain-of-custody models, strongest first: IDENTITY_PRESERVED, "
    "SEGREGATED, CONTROLLED_BLENDING, MASS_BALANCE, BOOK_AND_CLAIM.",
)
