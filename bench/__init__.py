"""Benchmark harness for the nexsis mock, its reference points and the conformance suite.

Lives outside the installed packages on purpose: it measures the product from the outside, over
real HTTP on loopback, the way thousands of client tests use it. Run it with `python -m bench`
from the repository root (see docs/benchmarks.md).
"""
