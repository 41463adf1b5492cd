"""Finding the data folder, listing records, and which record a person means."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import platformdirs
import pytest

from treadmill_ctl.config import data_dir, sessions_dir
from treadmill_ctl.history.errors import SessionNotFound
from treadmill_ctl.history.store import list_records, resolve_session

NAMES = (
    "20250310-080000-week1.jsonl",
    "20250312-081500-week1.jsonl",
    "20250314-093000-week2.jsonl",
    "20250314-180000-week2.jsonl",
)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    sessions = tmp_path / "sessions"
    sessions.mkdir()
    for name in reversed(NAMES):
        (sessions / name).write_text("{}\n", encoding="utf-8")
    (sessions / "notes.txt").write_text("not a record", encoding="utf-8")
    return sessions


def test_the_data_folder_is_the_environment_override_when_set(tmp_path: Path) -> None:
    env = {"TREADMILL_CTL_DATA_DIR": str(tmp_path)}
    assert data_dir(env) == tmp_path
    assert sessions_dir(env) == tmp_path / "sessions"


def test_the_data_folder_is_the_platforms_without_an_override() -> None:
    assert data_dir({}) == Path(platformdirs.user_data_dir("treadmill-ctl"))


def test_records_are_listed_oldest_first_and_other_files_are_left_out(folder: Path) -> None:
    assert [path.name for path in list_records(folder)] == list(NAMES)


def test_a_record_named_otherwise_is_placed_by_its_modification_time(folder: Path) -> None:
    odd = folder / "my-run.jsonl"
    odd.write_text("{}\n", encoding="utf-8")
    stamp = datetime(2025, 3, 11, 12, 0).astimezone().timestamp()
    os.utime(odd, (stamp, stamp))
    assert [path.name for path in list_records(folder)][1] == "my-run.jsonl"


def test_a_folder_that_does_not_exist_holds_no_records(tmp_path: Path) -> None:
    assert list_records(tmp_path / "nowhere") == ()


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("1", NAMES[0]),
        ("3", NAMES[2]),
        ("-1", NAMES[3]),
        ("-4", NAMES[0]),
        ("last", NAMES[3]),
        ("latest", NAMES[3]),
        ("20250312", NAMES[1]),
        ("20250314-0930", NAMES[2]),
    ],
)
def test_a_session_is_found_by_number_word_or_name_prefix(
    folder: Path, spec: str, expected: str
) -> None:
    assert resolve_session(spec, folder).name == expected


def test_a_path_to_a_record_is_taken_as_it_is(folder: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "copy.jsonl"
    elsewhere.write_text("{}\n", encoding="utf-8")
    assert resolve_session(str(elsewhere), folder) == elsewhere


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("5", "there is no session 5: history has sessions 1 to 4"),
        ("0", "there is no session 0"),
        ("-5", "there is no session -5"),
        ("2024", "there is no session 2024"),
        ("20240101", "no session record matches '20240101'"),
        ("20250314", "matches 2 records"),
        ("  ", "no session named"),
    ],
)
def test_a_session_that_cannot_be_told_apart_is_a_clear_error(
    folder: Path, spec: str, message: str
) -> None:
    with pytest.raises(SessionNotFound, match=message):
        resolve_session(spec, folder)


def test_a_number_with_no_records_at_all_says_there_are_none(tmp_path: Path) -> None:
    with pytest.raises(SessionNotFound, match="no session records"):
        resolve_session("1", tmp_path)
