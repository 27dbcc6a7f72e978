"""The exam core: clock, life-cycle, answers and grading as plain Python (no I/O)."""
