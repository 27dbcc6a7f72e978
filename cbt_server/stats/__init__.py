"""Item and test statistics (issue 23): facility, discrimination, alpha, distractors.

`arrays` turns result documents into flat NumPy arrays (one row per item answered);
`compute` turns those arrays into the published figures (pure, no I/O); `sites`
compares items across sites; `load` reads a selection from the database; `documents`
declares the JSON answer as pydantic models (the OpenAPI schemas); `scatter` draws the
facility × discrimination chart; `workbook` writes the spreadsheet export.
"""
