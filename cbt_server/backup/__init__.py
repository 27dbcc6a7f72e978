"""Backups of a site: one file holding a consistent copy of the database and the site's
keys (sealed with the administrator's passphrase), made while an exam runs, and the
restore that checks it before writing anything (docs/operations.md)."""
