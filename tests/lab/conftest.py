"""The exam runtime's fixtures (a prepared exam database, servers running it) for the
lab PC tests."""

from tests.runtime.conftest import exam_server_factory

__all__ = ["exam_server_factory"]
