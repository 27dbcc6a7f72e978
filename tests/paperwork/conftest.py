"""Staff fixtures (seeded site, live server) shared from tests/auth."""

from tests.auth.conftest import configured_server, site, staff_server

__all__ = ["configured_server", "site", "staff_server"]
