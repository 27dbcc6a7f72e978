"""The models in cbt_server.results.documents are the one declaration of what is served:
the OpenAPI document, the canonical form, the CSV columns and the stored columns all
agree with them, and what a running server sends validates against them."""

from __future__ import annotations

from typing import Any

from cbt_server.results.canonical import build_document, map_responses
from cbt_server.results.csv_export import COLUMNS, SUMMARY_COLUMNS
from cbt_server.results.documents import (
    API_MODELS,
    SIGNATURE_FIELD,
    KeyList,
    Result,
    ResultItem,
    ResultPage,
    UnsignedResult,
)
from cbt_server.results.openapi import Error, component_schemas
from cbt_server.results.sources import FIELD_SOURCES
from cbt_server.stats.documents import STATISTICS_MODELS
from tests.results.conftest import Site
from tests.results.test_canonical import FACTS


async def test_served_component_schemas_are_the_models(site: Site) -> None:
    status, document, _ = await site.get("/api/v1/openapi.json", token=None)
    assert status == 200
    served = document["components"]["schemas"]
    generated = component_schemas([*API_MODELS, *STATISTICS_MODELS, Error])
    assert set(generated) >= {"Result", "ResultItem", "ResultPage", "KeyList", "SiteKey", "Error"}
    assert {"Statistics", "ItemStatistics", "SlotStatistics", "ExamFigures"} <= set(generated)
    for name, schema in generated.items():
        assert served.get(name) == schema, f"served schema {name} differs from its model"
    # Nothing served is hand-written beside the models (other modules add their own).
    assert set(served) == set(generated)


def _fields(model: Any) -> set[str]:
    return set(model.model_fields)


def test_canonical_keys_are_the_model_fields() -> None:
    document = build_document(FACTS)
    assert set(document) == _fields(UnsignedResult)
    assert list(document) == list(UnsignedResult.model_fields)  # in the model's order
    for item in document["responses"]:
        assert set(item) == _fields(ResultItem)
    assert _fields(Result) == _fields(UnsignedResult) | {SIGNATURE_FIELD}
    signed = Result.model_validate({**document, SIGNATURE_FIELD: "c2ln"})
    assert signed.model_dump(mode="json", exclude={SIGNATURE_FIELD}) == document


def test_item_rows_are_the_item_model() -> None:
    [row] = map_responses([{"item_id": "x", "type": "single", "outcome": "correct"}])
    assert set(row) == _fields(ResultItem)
    assert ResultItem.model_validate(row).model_dump() == row


def test_csv_columns_are_the_model_fields() -> None:
    assert len(set(COLUMNS)) == len(COLUMNS)
    fields = set(COLUMNS) - set(SUMMARY_COLUMNS)
    assert fields == _fields(Result) - {"responses"}
    assert not set(SUMMARY_COLUMNS) & _fields(Result)


def test_every_field_has_a_stored_column() -> None:
    assert list(FIELD_SOURCES) == list(UnsignedResult.model_fields)


async def test_served_documents_validate_against_the_models(site: Site) -> None:
    await site.seed.result("S1", name="张三", final=True)
    page = await site.page()
    assert len(page["results"]) == 1
    assert ResultPage.model_validate(page).model_dump(mode="json") == page
    status, keys, _ = await site.get("/api/v1/keys", token=None)
    assert status == 200
    assert KeyList.model_validate(keys).model_dump(mode="json") == keys
