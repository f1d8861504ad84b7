"""Benchmark of the portal: `make bench` (see bench/README.md)."""
