"""The statistics answer (GET /api/v1/statistics) declared as pydantic models.

The OpenAPI component schemas are generated from these (`STATISTICS_MODELS`); the figures
themselves are computed by `stats.compute` and checked against these models in the tests.
Definitions of every figure: docs/statistics.md.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

Flag = Literal["too_easy", "too_hard", "low_discrimination", "negative_discrimination"]
Share = Annotated[float, Field(ge=0, le=1)]
Figure = float | None


class StatisticsSelection(BaseModel):
    """Which results were counted: the filters given (null: not filtered) and how many."""

    session: str | None
    occupation: str | None
    level: int | None
    final: bool | None
    results: Annotated[int, Field(ge=0, description="Results counted.")]


class ExamFigures(BaseModel):
    """The whole test: figures of the candidates' totals (sample sd, n − 1)."""

    n: Annotated[int, Field(ge=0)]
    mean: Figure
    median: Figure
    sd: Annotated[Figure, Field(description="Null when n < 2.")]
    min: Figure
    max: Figure
    pass_rate: Figure
    skewness: Annotated[
        Figure, Field(description="scipy.stats.skew(bias=False); null when n < 3 or sd = 0.")
    ]
    excess_kurtosis: Annotated[
        Figure,
        Field(description="scipy.stats.kurtosis(fisher=True, bias=False); null: n < 4, sd = 0."),
    ]
    alpha: Annotated[
        Figure, Field(description="Cronbach's alpha over the slots of papers of length alpha_k.")
    ]
    alpha_n: Annotated[int, Field(ge=0, description="Candidates whose papers alpha counts.")]
    alpha_k: Annotated[int | None, Field(description="The most common paper length K.")]
    sem: Annotated[Figure, Field(description="sd · sqrt(1 − alpha); null if alpha is null or < 0.")]


class ItemFigures(BaseModel):
    """Figures of one item or slot over the n candidates who had it (x = score / max)."""

    n: Annotated[int, Field(ge=1)]
    type: Literal["single", "multiple", "true_false"] | None
    facility: Figure
    sd: Annotated[Figure, Field(description="Sample sd of x; 0 when constant; null when n < 2.")]
    discrimination_index: Annotated[
        Figure, Field(description="Top 27 % minus bottom 27 % mean x; null when n < 10.")
    ]
    point_biserial: Annotated[
        Figure, Field(description="Corrected item-total correlation; null when undefined.")
    ]
    options: Annotated[
        dict[str, Share], Field(description="Share of the n whose response has each label.")
    ]
    omitted: Share
    flags: list[Flag]


class ItemStatistics(ItemFigures):
    """One item (keyed by item_id); `labels` are its option labels from the bank."""

    labels: Annotated[list[str] | None, Field(description="Null when the bank lacks the item.")]


class SlotStatistics(ItemFigures):
    """One position in paper order (1-based), with the items seen there."""

    slot: Annotated[int, Field(ge=1)]
    item_ids: list[str]


class Statistics(BaseModel):
    """Item and test statistics of a selection of graded results (final or not)."""

    selection: StatisticsSelection
    test: ExamFigures
    items: dict[str, ItemStatistics]
    slots: list[SlotStatistics]


STATISTICS_MODELS: tuple[type[BaseModel], ...] = (Statistics,)
