"""Benchmarks: separate from tests; results go to bench/results/ and docs/performance.md."""
