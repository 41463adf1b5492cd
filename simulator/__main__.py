"""``python -m simulator``: the same as ``treadmill-sim``."""

from simulator.cli import main

raise SystemExit(main())
