"""Enrolment: exam sessions, their rooms and rosters, and the sample exam chain.

Plain services with no click and no aiohttp in them: the `cbt-server` CLI, the web handlers,
the demo, the load tests and the test fixtures all call these same functions.
"""
