"""The documents the gateway sends to participants' nodes.

Shared by both sides: the gateway sends exactly these texts, and a node answers
the lots document, the one every trace hop sends, without the general GraphQL
executor (``node/compiled.py``). Any other document is answered the general way.
"""

from __future__ import annotations

__all__ = [
    "LOTS_AT_QUERY",
    "LOTS_QUERY",
    "MAX_GRANTS_PER_REQUEST",
    "MAX_IDS_PER_REQUEST",
    "OUTPUTS_QUERY",
]

# What one request may carry: a node refuses more; the gateway splits its batches.
MAX_IDS_PER_REQUEST = 1000
MAX_GRANTS_PER_REQUEST = 1000

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
        transit { country region }
        facility {
          id name kind country region latitude longitude artisanal cahra activities
          certificates { id subject issuer standard scope validFrom validTo status }
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
