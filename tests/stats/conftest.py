"""The live site of the results tests (server, tokens, seeder) serves these tests too."""

from tests.results.conftest import site  # noqa: F401  (a fixture, used by name)
