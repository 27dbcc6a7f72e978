"""The city centre's side: `cbt-server centre pull` fetches and verifies each site's results.

- `state`: the per-site state file (cursor, pinned key, durable file lengths).
- `store`: the per-site JSON-lines files, appended durably.
- `puller`: the pull itself (HTTP client, verification, resumption).
- `cli`: the `centre` click group mounted in `cbt-server`.
"""
