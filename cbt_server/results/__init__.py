"""Graded results as the city centre receives them: canonical form, signing, the pull feed.

- `canonical`: the published document of a result and its canonical bytes (pure).
- `signing`: the site's Ed25519 key, signing and verifying documents.
- `hooks`: SQLAlchemy listeners that sign every Result written through the ORM.
- `feed`: the cursor-paged query behind GET /api/v1/results and the CSV export.
- `csv_export`: the spreadsheet form (UTF-8 with BOM, formula-injection safe).
- `openapi`: the OpenAPI 3.1 document of /api/v1, which other modules extend.
"""
