"""The one error of the statistics package (no NumPy here: the CLI imports it at start)."""


class ResultDataError(ValueError):
    """A result document cannot be read for statistics; the message names which and why."""
