"""The simulator's own small error hierarchy.

The simulator is an independent implementation of FTMS and must never import
``treadmill_ctl``, so it has its own root error. Every message is one line a person
can act on: what was wrong, and what would have been right.
"""


class SimulatorError(Exception):
    """Root of every error the simulator raises on purpose."""


class FaultSpecError(SimulatorError, ValueError):
    """A fault specification (``KIND@T[:ARG]``) could not be understood."""


class QuirkSpecError(SimulatorError, ValueError):
    """A quirk name is not one the simulator knows."""


class EncodingError(SimulatorError, ValueError):
    """A characteristic value is out of the range its FTMS field can carry."""
