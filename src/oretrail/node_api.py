"""The documents the gateway sends to participants' nodes.

Shared by both sides: the gateway sends exactly these texts, and a node answers
the lots document, the one every trace hop sends, without the general GraphQL
executor (``node/compiled.py``). Any other document is answered the general way.
"""

from __future__ import annotations

__all__ = [
    "GRANT_BYTES_PER_REQUEST",
    "LOTS_AT_QUERY",
    "LOTS_QUERY",
    "MAX_GRANTS_PER_REQUEST",
    "MAX_IDS_PER_REQUEST",
    "OUTPUTS_QUERY",
]

# What one request may carry: a node refuses more; the gateway splits its batches.
MAX_IDS_PER_REQUEST = 1000
MAX_GRANTS_PER_REQUEST = 1000
# The bytes of grants one request carries at most: the gateway splits a batch whose
# grants (with the chains they rest on) would pass it, so that a request stays
# within what a node reads (body_guard.NODE_MAX_BODY_BYTES, 4 MiB) with its ids.
GRANT_BYTES_PER_REQUEST = 3 * 1024 * 1024

LOTS_QUERY = """
query Lots($ids: [ID!]!, $grants: [String!]) {
  lots(ids: $ids, grants: $grants) {
    answers {
      id status detail
      lot {
        id owner material custody producedAt
        quantity { value unit }
        contents { element fraction }
        recycledPreConsumer recycledPostConsumer
        carbonFootprint carbonFootprintUnit ratedCapacityKwh
        transit { country region }
        facility {
          id name kind country region latitude longitude artisanal cahra activities
          certificates { id subject issuer standard scope validFrom validTo status credential }
        }
        inputs { lot owner quantity { value unit } }
      }
    }
    continuations { owner lots grant }
  }
}
"""

OUTPUTS_QUERY = """
query Outputs($ids: [ID!]!) {
  outputs(ids: $ids) {
    id
    consumers { lot quantity { value unit } }
    shippedTo { to date quantity { value unit } }
  }
}
"""


LOTS_AT_QUERY = """
query LotsAt($facility: ID!) { lotsAt(facility: $facility) }
"""
