"""``python -m minigrad``: run the command line (the seed's example by default).

See :mod:`minigrad.cli` for the commands, options and exit statuses.
"""

from minigrad.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
