"""How a field the server reads in its own way is told in the OpenAPI schema.

pydantic writes the schema from the constraints it checks, but some checks happen
where it cannot see them (a text trimmed before its length is counted, a validator
function, a rule between two fields). Left out, the schema promises answers the
server does not give: a client (or schemathesis) sends what the schema allows and
gets a 422. These helpers put the same rules into the schema, in JSON Schema's
terms; ``api/tests/test_schema_conformance.py`` holds the two to each other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BeforeValidator

# What pydantic's strip_whitespace trims (Unicode White_Space), and what Python's
# str.strip() trims besides (str.isspace counts \x1c-\x1f too). Spelled out: "\s"
# means different things to different regex engines.
TRIMMED = r"\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
SPACE = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NOT_BLANK = f"[^{SPACE}]"  # a pattern is a search: something besides whitespace


def no_nul(value: str) -> str:
    """PostgreSQL cannot store NUL in text (nor take it in a query); no human writes
    one. Refused up front, both databases answer the same clear 422."""
    if "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    return value


def trimmed(middle: str) -> Callable[[dict[str, Any]], None]:
    """The schema of a text the server trims before it checks it against ``middle``
    (a regex that spells out the length too): whitespace around it is allowed and not
    counted. It replaces ``maxLength``, which would count it."""

    def extra(schema: dict[str, Any]) -> None:
        schema.pop("maxLength", None)
        schema["pattern"] = f"^[{TRIMMED}]*{middle}[{TRIMMED}]*$"

    return extra


def _whole(value: object) -> object:
    # JSON has one kind of number: to JSON Schema (so to our schema) 3.0 is the integer
    # 3, and some encoders write it so. Strict validation still refuses true, "3" and
    # 3.5.
    return int(value) if isinstance(value, float) and value.is_integer() else value


# Last, as in Annotated[int, Field(ge=1, strict=True), Whole]: before the Field, it
# would hide the bounds from the schema.
Whole = BeforeValidator(_whole)
