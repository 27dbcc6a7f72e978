"""Graded results as the city centre receives them: canonical form, signing, the pull feed.

- `documents`: the published JSON documents as pydantic models, declared once.
- `formats`: how stored values are published (scores, times, responses) (pure).
- `canonical`: the published document of a result and its canonical bytes (pure).
- `sources`: the stored column behind each field of a result document.
- `signing`: the site's Ed25519 key, signing and verifying documents.
- `hooks`: SQLAlchemy listeners that sign every Result written through the ORM.
- `feed`: the cursor-paged query behind GET /api/v1/results and the CSV export.
- `csv_export`: the spreadsheet form (UTF-8 with BOM, formula-injection safe).
- `openapi`: the OpenAPI 3.1 document of /api/v1, which other modules extend.
- `api_spec`: the results API's paths; its schemas are generated from `documents`.
"""
