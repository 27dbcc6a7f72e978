"""Load tests: a room of simulated candidates over a real (optionally shaped) link.

`python -m loadtests.room` sets everything up, runs the room and writes the report;
`loadtests/locustfile.py` holds the Locust users it runs. See docs/performance.md.
"""
