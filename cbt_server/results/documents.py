"""The JSON documents the results API publishes, each declared once as a pydantic model.

Everything else is derived from these classes: the canonical (signed) form's keys and
how each stored value is published (`canonical`), the CSV columns (`csv_export`), and
the component schemas of the OpenAPI document (`API_MODELS`, see `api_spec`). A field's
`Published` marker says how a stored value becomes the published one; the models are
not run on the hot path (building a page of documents), only declared and checked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, WithJsonSchema

from cbt_server.results.formats import (
    as_bool,
    as_int,
    format_score,
    format_time,
    item_score,
    nonempty_id,
    response_list,
)

SCORE_PATTERN = r"^-?[0-9]+\.[0-9]{2}$"


@dataclass(frozen=True, slots=True)
class Published:
    """How a stored value becomes the field's published value: `convert(value, field)`.

    A field without one is published as stored; a list of models, item by item.
    """

    convert: Callable[[Any, str], Any]


_TWO_DECIMALS = Field(pattern=SCORE_PATTERN, description="Two decimals.")
Score = Annotated[str, _TWO_DECIMALS, Published(format_score)]
ItemScore = Annotated[str, _TWO_DECIMALS, Published(item_score)]
TimeText = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]
Time = Annotated[TimeText, Published(format_time)]


class ResultItem(BaseModel):
    """One item of a result: the candidate's response and its score."""

    item_id: Annotated[str, Published(nonempty_id)]
    response: Annotated[list[str], Published(response_list)]
    correct: Annotated[bool, Published(as_bool)]
    score: ItemScore
    max_score: ItemScore


class UnsignedResult(BaseModel):
    """A graded result as signed: every published field but `signature`."""

    ticket: Annotated[str, Field(description="Admission ticket number (准考证号).")]
    id_number: Annotated[str, Field(description="ID-card number (身份证号).")]
    name: str
    occupation: Annotated[str, Field(description="Occupation code, e.g. electrician.")]
    level: Annotated[int, Field(ge=1, le=5), Published(as_int)]
    session: Annotated[str, Field(description="Session code (场次).")]
    room: Annotated[str, Field(description="Room code (考场).")]
    seat: Annotated[int, Published(as_int)]
    paper_id: str
    started_at: Annotated[TimeText | None, Published(format_time)]
    submitted_at: Time
    graded_at: Time
    score: Score
    max_score: Score
    pass_mark: Score
    passed: Annotated[bool, Published(as_bool)]
    final: Annotated[bool, Field(description="Signed by the examiner leader."), Published(as_bool)]
    responses: list[ResultItem]


class Result(UnsignedResult):
    """A graded result. `signature` is base64 Ed25519 over the canonical JSON of all other
    fields (docs/results-api.md), verifiable with GET /api/v1/keys."""

    signature: str


class ResultPage(BaseModel):
    """One page of the pull feed."""

    results: list[Result]
    next: Annotated[
        str | None,
        Field(description="Pass as `after` for what follows; null while the feed is empty."),
    ]


def _no_default(schema: dict[str, Any]) -> None:
    """An optional field whose absence means nothing, not an empty value."""
    schema.pop("default", None)


class SiteKey(BaseModel):
    """A public key that signs this site's results."""

    kid: str
    alg: Literal["Ed25519"]
    public_key: Annotated[str, Field(description="Base64 of the 32 raw key bytes.")]
    public_key_pem: Annotated[
        str, Field(description="SubjectPublicKeyInfo PEM.", json_schema_extra=_no_default)
    ] = ""


class KeyList(BaseModel):
    """The site's public signing keys."""

    keys: list[SiteKey]


SIGNATURE_FIELD = "signature"


# The documents of the results API, as component schemas of the OpenAPI document.
API_MODELS: tuple[type[BaseModel], ...] = (SiteKey, KeyList, ResultItem, Result, ResultPage)
