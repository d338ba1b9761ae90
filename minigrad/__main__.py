"""``python -m minigrad``: run the command line (the seed's example by default)."""

from minigrad.cli import main

raise SystemExit(main())
