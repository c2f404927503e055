"""Which media type a GraphQL answer gets, and which results are request errors."""

from __future__ import annotations

import pytest
from graphql import GraphQLError
from strawberry.types import ExecutionResult

from oretrail.graphql_http import GRAPHQL_RESPONSE, JSON, is_request_error, response_media_type


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        # No header, or one that accepts anything: old clients keep application/json.
        (None, JSON),
        ("", JSON),
        ("*/*", JSON),
        ("application/json", JSON),
        ("application/*", JSON),
        # The specification's recommended client header: both at q=1, the new one wins.
        (f"{GRAPHQL_RESPONSE}, {JSON};q=0.9", GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE}, {JSON}", GRAPHQL_RESPONSE),
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE}, */*", GRAPHQL_RESPONSE),
        ("APPLICATION/GRAPHQL-RESPONSE+JSON", GRAPHQL_RESPONSE),
        # Named, but preferred less than JSON (0.5 < 1), or refused outright (q=0).
        (f"{GRAPHQL_RESPONSE};q=0.5, {JSON}", JSON),
        (f"{GRAPHQL_RESPONSE};q=0", JSON),
        (f"{GRAPHQL_RESPONSE};q=nonsense", JSON),
        ("text/html", JSON),
    ],
)
def test_the_new_media_type_only_when_the_client_names_and_prefers_it(
    accept: str | None, expected: str
) -> None:
    assert response_media_type(accept) == expected


def test_errors_without_a_path_and_no_data_are_a_request_error() -> None:
    parse = GraphQLError("Syntax Error: Expected Name, found <EOF>.")
    assert is_request_error(ExecutionResult(data=None, errors=[parse]))


def test_a_field_error_is_not_a_request_error_even_with_null_data() -> None:
    field = GraphQLError("lot id does not start with 'urn:oretrail:lot:'", path=["trace"])
    assert not is_request_error(ExecutionResult(data=None, errors=[field]))
    assert not is_request_error(ExecutionResult(data={"trace": None}, errors=[field]))
    assert not is_request_error(ExecutionResult(data={"participants": []}, errors=None))
