"""What a person reads when a run goes wrong: one true line, never a traceback."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from e2e_support import DRY_RUN_OPTIONS, REPO, run_python

from treadmill_ctl.cli import main
from treadmill_ctl.cli_run import first_leaf

DEMO = REPO / "profiles" / "demo.toml"
EXIT_BAD_INPUT = 2
EXIT_STOPPED_BY_PERSON = 3


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "TREADMILL_CTL_DATA_DIR": str(tmp_path / "data"),
        "TREADMILL_CTL_CONFIG": str(tmp_path / "no-settings.toml"),
    }


def _run(*extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "treadmill_ctl",
        "run",
        str(DEMO),
        *DRY_RUN_OPTIONS,
        *extra,
    ]


@pytest.mark.parametrize("where", ["proc", "missing-parent-is-a-file", "a-folder-itself"])
def test_an_unwritable_record_path_exits_2_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    for key, value in _env(tmp_path).items():
        monkeypatch.setenv(key, value)
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder should be\n")
    record = {
        "proc": Path("/proc/treadmill-ctl-test/s.jsonl"),  # no one may write there, root neither
        "missing-parent-is-a-file": blocker / "s.jsonl",
        "a-folder-itself": tmp_path,
    }[where]
    status = main(
        ["run", str(DEMO), "--simulator", "--speedup", "max", "--yes", "--record", str(record)]
    )
    err = capsys.readouterr().err
    assert status == EXIT_BAD_INPUT
    assert err.startswith("error: --record ")
    assert "nothing was started" in err
    assert "commanded to stop" not in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "data").exists()


def test_an_unreachable_broker_ends_a_dry_run_without_a_library_traceback(
    tmp_path: Path,
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = subprocess.run(  # noqa: S603 - our own command line
        _run("--mqtt", f"mqtt://127.0.0.1:{port}"),
        env=_env(tmp_path),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "InvalidStateError" not in done.stderr
    assert "session completed" in done.stdout


def _wait_for_main(pid: int) -> None:
    """Until the process catches SIGTERM: main() has begun (its first line does that)."""
    deadline = time.monotonic() + 60
    status = Path(f"/proc/{pid}/status")
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            for line in status.read_text().splitlines():
                caught = int(line.split()[1], 16) if line.startswith("SigCgt:") else 0
                if caught >> (signal.SIGTERM - 1) & 1:
                    return
        time.sleep(0.001)
    pytest.fail("the program never reached main()")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_in_the_first_moments_exits_cleanly(tmp_path: Path, signum: int) -> None:
    """From the moment the program's own code runs, a signal never prints a traceback.

    (A signal inside the interpreter's own start-up, before any line of ours runs, is
    Python's to handle; the delays here count from main's first line, seen in /proc.)
    """
    outcomes = []
    for extra_s in (0.0, 0.05, 0.1, 0.2, 0.3, 0.6):
        process = subprocess.Popen(  # noqa: S603 - our own command line
            # Paced (110 s of session in about 2 s), so the session is still running when
            # the last signal comes: at full speed a fast machine ends the demo in 0.1 s.
            [*_run(), "--speedup", "50"],
            env=_env(tmp_path),
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        _wait_for_main(process.pid)
        time.sleep(extra_s)
        process.send_signal(signum)
        out, err = process.communicate(timeout=60)
        outcomes.append((extra_s, process.returncode, out, err))
    for extra_s, status, out, err in outcomes:
        assert "Traceback" not in err, (extra_s, err)
        assert status == EXIT_STOPPED_BY_PERSON, (extra_s, status, err)
        if err.strip():
            # Before the session began: one line says so, nothing was started.
            assert err.strip().splitlines()[-1].startswith("interrupted"), (extra_s, err)
        else:
            # The session had begun (a fast machine gets there within 0.6 s): it ends
            # as a person's stop does, with the summary on standard output.
            assert "session stopped by person" in out, (extra_s, out)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_after_the_session_does_not_cut_its_summary_short(
    tmp_path: Path, signum: int
) -> None:
    """A signal after the session's loop has ended is noted; the program ends as it was.

    What is left by then is telling the person what the belt did.
    """
    script = (
        "import os, sys\n"
        "from treadmill_ctl.cli import main\n"
        f"status = main({_run()[3:]!r}, restore_signals=False)\n"  # as the program runs it
        f"os.kill(os.getpid(), {int(signum)})\n"  # delivered here, in the main thread
        "print('still here after the signal, status', status)\n"
    )
    done = run_python(script, env=_env(tmp_path))
    assert (done.returncode, done.stderr) == (0, ""), done
    assert "session completed" in done.stdout
    assert done.stdout.splitlines()[-1] == "still here after the signal, status 0"


def _finishing_script(signals: int) -> str:
    return (
        "import os, signal\n"
        "from treadmill_ctl import program_signals\n"
        "program_signals.start(before_line='before', before_status=3, finishing_status=3)\n"
        "program_signals.session_loop_ended()\n"
        "print('session completed: the summary', flush=False)\n"
        f"for _ in range({signals}):\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "print('record: the last line')\n"
    )


def test_one_signal_while_finishing_is_noted_and_a_second_leaves_at_once() -> None:
    once = run_python(_finishing_script(1))
    assert (once.returncode, once.stderr) == (0, "")
    assert once.stdout.splitlines() == ["session completed: the summary", "record: the last line"]
    twice = run_python(_finishing_script(2))
    assert twice.returncode == EXIT_STOPPED_BY_PERSON
    # What was printed before the second signal is kept; the rest never ran.
    assert twice.stdout.splitlines() == ["session completed: the summary"]
    assert twice.stderr.startswith("interrupted while finishing")


def test_a_signal_before_the_session_ends_the_program_at_once() -> None:
    script = (
        "import os, signal\n"
        "from treadmill_ctl import program_signals\n"
        "program_signals.start(before_line='before: nothing moved', before_status=3,"
        " finishing_status=3)\n"
        "os.kill(os.getpid(), signal.SIGHUP)\n"
        "print('never printed')\n"
    )
    done = run_python(script)
    assert (done.returncode, done.stdout, done.stderr) == (3, "", "before: nothing moved\n")


def test_an_exception_group_is_told_by_its_first_error() -> None:
    inner = ValueError("the real reason")
    group = ExceptionGroup("unhandled errors in a TaskGroup", [ExceptionGroup("x", [inner])])
    assert first_leaf(group) is inner
    assert first_leaf(inner) is inner


def test_the_record_keeps_what_failed_not_just_that_something_did(tmp_path: Path) -> None:
    import structlog  # noqa: PLC0415

    from treadmill_ctl.session.recorder import SessionRecord, configure_logging  # noqa: PLC0415

    class _Clock:
        def now_s(self) -> float:
            return 0.0

        async def sleep(self, duration_s: float) -> None:
            del duration_s

    record = SessionRecord(tmp_path / "s.jsonl", clock=_Clock())
    configure_logging(record=record, console=None)
    try:
        group = ExceptionGroup("group", [KeyError("speed")])
        structlog.get_logger("t").error("session.failed", exc_info=group)
        try:
            _boom()
        except RuntimeError:
            structlog.get_logger("t").exception("session.failed")
    finally:
        structlog.reset_defaults()
        record.close()
    first, second = (json.loads(x) for x in (tmp_path / "s.jsonl").read_text().splitlines())
    assert "exc_info" not in first
    assert first["error_type"] == "ExceptionGroup"
    assert "KeyError: 'speed'" in first["traceback"]
    assert "exc_info" not in second
    assert second["error_type"] == "RuntimeError"
    assert second["error"] == "boom"
    assert 'raise RuntimeError("boom")' in second["traceback"]


def _boom() -> None:
    raise RuntimeError("boom")


def test_a_hang_up_with_the_terminal_gone_still_leaves_with_the_status() -> None:
    """After a hang-up there may be no terminal to write the line to: leave all the same."""
    script = (
        "import os, signal\n"
        "from treadmill_ctl import program_signals\n"
        "program_signals.start(before_line='before', before_status=3, finishing_status=3)\n"
        "os.close(2)\n"  # the terminal went with the hang-up: writing to it fails
        "os.kill(os.getpid(), signal.SIGHUP)\n"
        "print('never printed')\n"
    )
    done = run_python(script)
    assert (done.returncode, done.stdout) == (EXIT_STOPPED_BY_PERSON, "")
