"""Lab agent: checks that a lab PC and its link to the CBT server are fit for an exam.

Runs on the lab PCs themselves (Windows or Linux, Python 3.9+), with psutil and
py-cpuinfo when present and the standard library otherwise, so that it can be
packaged for a PC without internet access.
"""

__version__ = "0.1.0"
