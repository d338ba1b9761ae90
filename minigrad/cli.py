"""The ``minigrad`` command line."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from minigrad import seed


def main(argv: Sequence[str] | None = None) -> int:
    """Parse *argv* and run; with no arguments, the seed's example."""
    parser = argparse.ArgumentParser(
        prog="minigrad",
        description="Run the seed's single-weight example: train Linear(1, 1) until it predicts the gross exactly.",
    )
    parser.parse_args(argv)
    return seed.main()
