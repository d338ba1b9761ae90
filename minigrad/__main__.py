"""``python -m minigrad``: run the command line (the seed's example by default).

See :mod:`minigrad.cli` for the commands, options and exit statuses, and
:mod:`minigrad._startup` for a Ctrl-C while it starts.
"""

from minigrad._startup import run_cli

if __name__ == "__main__":
    raise SystemExit(run_cli())
