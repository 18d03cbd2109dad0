"""Benchmarks (``make bench``). A package so that ``bench.settings`` can be imported by
the benchmark servers; nothing here is part of the production application."""
