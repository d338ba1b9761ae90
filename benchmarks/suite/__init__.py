"""minigrad's benchmark suite, in pieces; ``benchmarks/bench.py`` is its command line."""
