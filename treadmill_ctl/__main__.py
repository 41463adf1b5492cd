import sys

from treadmill_ctl.cli import main

sys.exit(main())
