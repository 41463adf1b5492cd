"""``treadmill-ctl check PROFILE...``: validate profiles and describe their plans.

The CLI only parses arguments and prints; :func:`check_command` does the work and
returns the exit status with the text, so the command is tested without a process.
"""

from __future__ import annotations

import json
from enum import IntEnum
from typing import TYPE_CHECKING

from treadmill_ctl.profiles.checker import InvalidProfileError
from treadmill_ctl.profiles.loader import load_profile
from treadmill_ctl.profiles.plan import build_plan
from treadmill_ctl.profiles.report import format_plan, plan_to_json

if TYPE_CHECKING:
    from collections.abc import Sequence

    from treadmill_ctl.errors import ProfileError
    from treadmill_ctl.safety.limits import Limits


class CheckStatus(IntEnum):
    """Exit status of ``treadmill-ctl check``."""

    OK = 0
    BAD_PROFILE = 2


def _problem_json(problem: ProfileError) -> dict[str, str]:
    return {"location": problem.location, "message": problem.problem}


def check_command(
    paths: Sequence[str],
    *,
    as_json: bool,
    weight_kg: float | None,
    limits: Limits | None,
) -> tuple[int, str]:
    """Check profile files and describe their plans: ``treadmill-ctl check PROFILE...``.

    Every file is checked, even after a bad one, so one run lists every problem.

    Args:
        paths: Profile files, named in the output as given.
        as_json: One compact JSON object per profile, one per line (so a single
            profile prints exactly one JSON object). A good profile's object is
            :func:`plan_to_json` with ``"ok": true``; a bad one's is ``source``,
            ``"ok": false`` and ``problems`` (each with ``location`` and ``message``).
        weight_kg: The person's weight from the user's config, if set.
        limits: The limits from the user's config (``None``: the defaults).

    Returns:
        The exit status (:class:`CheckStatus`: 0 if every profile is good, 2 if any
        is bad) and the text to print.
    """
    status = CheckStatus.OK
    outputs: list[str] = []
    for path in paths:
        try:
            profile = load_profile(path, limits=limits)
        except InvalidProfileError as error:
            status = CheckStatus.BAD_PROFILE
            if as_json:
                outputs.append(
                    json.dumps(
                        {
                            "source": path,
                            "ok": False,
                            "problems": [_problem_json(p) for p in error.problems],
                        }
                    )
                )
            else:
                count = len(error.problems)
                outputs.append(
                    "\n".join(str(problem) for problem in error.problems)
                    + f"\n{path}: {count} problem{'s' if count > 1 else ''}; "
                    "nothing runs from this profile until fixed"
                )
            continue
        plan = build_plan(profile, weight_kg=weight_kg)
        if as_json:
            outputs.append(json.dumps({"ok": True, **plan_to_json(plan)}))
        else:
            outputs.append(format_plan(plan))
    separator = "\n" if as_json else "\n\n"
    return int(status), separator.join(outputs)
