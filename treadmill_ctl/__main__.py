import sys

from treadmill_ctl.cli import program

sys.exit(program())
