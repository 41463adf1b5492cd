"""treadmill_ctl: backward-walking workouts on an FTMS treadmill, behind a safety governor."""

__version__ = "0.1.0"
