"""CBT server: delivers randomized theory papers to lab PCs, holds the clock, grades."""

__version__ = "0.1.0"
