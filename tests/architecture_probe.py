"""Read, never run, by tests/test_architecture.py: one use of each kind of private name."""

from cbt_server import settings
from cbt_server.settings import _bool  # noqa: F401

# The probe's own line 7 reaches into another module.
settings._port("80")
