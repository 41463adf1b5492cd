"""Session history: the records the runner wrote, read back for people and other tools.

One module per idea: :mod:`~treadmill_ctl.history.store` (where records live, which
one a person means), :mod:`~treadmill_ctl.history.record` (a record parsed into a
:class:`~treadmill_ctl.history.session_log.SessionLog`, tolerant of a record cut short;
the values it holds in :mod:`~treadmill_ctl.history.session_log`),
:mod:`~treadmill_ctl.history.report` (summary text and a PNG chart),
:mod:`~treadmill_ctl.history.export_fit`, :mod:`~treadmill_ctl.history.export_tcx`
and :mod:`~treadmill_ctl.history.export_csv` (files for Garmin Connect, Strava and
spreadsheets), :mod:`~treadmill_ctl.history.progression` (the next session) and
:mod:`~treadmill_ctl.history.commands` (what the CLI calls).

Nothing heavy is imported here: matplotlib and the FIT encoder load only when a
report or an export asks for them.
"""
