"""Load a profile from TOML, and say exactly where and why it cannot be run.

The format (documented with an example in the README) keeps the order of the workout
unambiguous: the profile is one ``[[step]]`` list, and each step is either a segment
or a repeated block (``repeat = N`` with its own ``segments``). TOML loses the relative
order of arrays of tables with different names, so there is deliberately no separate
``[[segment]]`` or ``[[repeat]]`` list.

Every problem found is collected before anything is raised, so a physiotherapist
editing a file sees all of them at once: :class:`InvalidProfileError` carries them in
``problems``, each a :class:`~treadmill_ctl.errors.ProfileError` whose ``location``
names the file, the line where it can be found, and the step or segment
(``profiles/x.toml:14: step 3 (backward)``). A TOML syntax error stops at once, since
nothing after it can be trusted. Nothing runs from a profile with any problem.

The checking is :mod:`~treadmill_ctl.profiles.checker`'s; this module reads the file
and the TOML.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

from treadmill_ctl.errors import ProfileError
from treadmill_ctl.files import InputFileError, load_toml, read_text_file
from treadmill_ctl.profiles.checker import Checker, InvalidProfileError
from treadmill_ctl.safety.limits import Limits

if TYPE_CHECKING:
    from treadmill_ctl.profiles.model import Profile

_TOML_POSITION = re.compile(r"\s*\(at line (?P<line>\d+), column (?P<column>\d+)\)\s*$")
_TOML_AT_END = re.compile(r"\s*\(at end of document\)\s*$")


def load_profile(path: str | Path, *, limits: Limits | None = None) -> Profile:
    """Read and check a profile file.

    Args:
        path: The TOML file; it is named in every error as given here.
        limits: The limits before the profile tightens them: the defaults already
            tightened by the user's config. ``None`` means the defaults.

    Returns:
        The checked profile, whose ``limits`` are the effective ones.

    Raises:
        InvalidProfileError: The file cannot be read or holds any problem.
    """
    source = str(path)
    try:
        text = read_text_file(Path(path))
    except FileNotFoundError:
        raise _invalid(source, "no such profile file") from None
    except InputFileError as error:
        raise _invalid(source, str(error)) from None
    except OSError as error:
        raise _invalid(source, f"cannot read the file ({error.strerror or error})") from None
    return parse_profile(text, source=source, limits=limits)


def parse_profile(text: str, *, source: str, limits: Limits | None = None) -> Profile:
    """Check profile text and build the :class:`Profile` it describes.

    Args:
        text: The TOML text.
        source: How errors name the text (usually its path).
        limits: The limits before the profile tightens them (see :func:`load_profile`).

    Returns:
        The checked profile.

    Raises:
        InvalidProfileError: A TOML syntax error (reported alone) or every problem
            found in the content.
    """
    try:
        document = load_toml(text, finite=False)  # inf and nan: refused below, located
    except tomllib.TOMLDecodeError as error:
        raise _syntax_error(source, error) from None
    except InputFileError as error:
        raise _invalid(source, str(error)) from None
    return Checker(
        text, source=source, base_limits=limits if limits is not None else Limits()
    ).profile(document)


def _invalid(location: str, message: str) -> InvalidProfileError:
    return InvalidProfileError([ProfileError(message, location=location)])


def _syntax_error(source: str, error: tomllib.TOMLDecodeError) -> InvalidProfileError:
    message = str(error)
    if position := _TOML_POSITION.search(message):
        location = f"{source}:{position['line']}:{position['column']}"
        message = message[: position.start()]
    elif at_end := _TOML_AT_END.search(message):
        location = f"{source}: end of file"
        message = message[: at_end.start()]
    else:
        location = source
    return _invalid(location, f"TOML syntax error: {message}")
