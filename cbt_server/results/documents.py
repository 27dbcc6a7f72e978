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


class BlueprintSection(BaseModel):
    """A section (大题) of the blueprint: one item type and the points of each of its items."""

    type: Annotated[str, Field(description="single, multiple or true_false.")]
    title: str
    score_each: Annotated[str, _TWO_DECIMALS]
    items: Annotated[int, Field(ge=0, description="Items of this section on every paper.")]


class BlueprintRef(BaseModel):
    """The blueprint (组卷方案) that fixed the session's papers and their points."""

    id: str
    title: str
    digest: Annotated[
        str,
        Field(
            description="`sha256:` and the hex SHA-256 of the blueprint as stored (its "
            "canonical JSON): the version the papers were drawn from."
        ),
    ]
    total_score: Annotated[str, _TWO_DECIMALS]
    pass_mark: Annotated[str, _TWO_DECIMALS]
    sections: list[BlueprintSection]


class ItemPoints(BaseModel):
    """The points one item is worth on this session's papers (its section's score_each)."""

    item_id: str
    section: Annotated[int, Field(ge=0, description="Index into the blueprint's sections.")]
    points: Annotated[str, _TWO_DECIMALS]


class SessionDocument(BaseModel):
    """An exam session (场次): its state, whether its results are final, and the blueprint
    and per-item points from which every result's score can be recomputed."""

    code: Annotated[str, Field(description="Session code (场次).")]
    title: str
    occupation: str
    level: Annotated[int, Field(ge=1, le=5)]
    room: str
    state: Annotated[str, Field(description="scheduled, checkin, started or ended.")]
    started_at: TimeText | None
    ended_at: TimeText | None
    final: Annotated[bool, Field(description="Signed by the examiner leader.")]
    signed_by: str | None
    signed_at: TimeText | None
    blueprint: BlueprintRef
    items: Annotated[
        list[ItemPoints],
        Field(description="Every item on any paper of the session, by item id."),
    ]


SIGNATURE_FIELD = "signature"


# The documents of the results API, as component schemas of the OpenAPI document.
API_MODELS: tuple[type[BaseModel], ...] = (
    SiteKey,
    KeyList,
    ResultItem,
    Result,
    ResultPage,
    SessionDocument,
)
