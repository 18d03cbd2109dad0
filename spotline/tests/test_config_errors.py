"""A setting Spotline cannot use stops every way of starting it with one line on stderr,
naming the variable and what it takes, and exit status 2: never a traceback.

Real processes, as a person would start them; each gets a data directory of its own.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from spotline.envconf import ConfigError, env_float, env_int

ROOT = Path(__file__).resolve().parents[2]
HANG_GUARD = 120  # seconds: only so that a hung process fails the test instead of the run


def env_with(tmp_path: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "SPOTLINE_SQLITE_PATH", "DJANGO_SETTINGS_MODULE")}
    return env | {"SPOTLINE_DATA_DIR": str(tmp_path / "data")} | settings


def start(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True,
        stdin=subprocess.DEVNULL, timeout=HANG_GUARD, check=False)


def assert_one_line(done: subprocess.CompletedProcess[str], line: str) -> None:
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.splitlines() == [line], done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert done.stdout == ""


GRACE_TOO_SHORT = ("spotline: configuration error: SPOTLINE_CHECKIN_GRACE_SECONDS must be "
                   "at least 10, not 5")


def test_it_stops_a_command_with_one_line_and_status_2(tmp_path: Path) -> None:
    done = start(["-m", "spotline", "check"],
                 env_with(tmp_path, SPOTLINE_CHECKIN_GRACE_SECONDS="5"))
    assert_one_line(done, GRACE_TOO_SHORT)


def test_it_stops_spotline_run_before_it_serves(tmp_path: Path) -> None:
    done = start(["-m", "spotline", "run", "--host", "127.0.0.1", "--port", "8000"],
                 env_with(tmp_path, SPOTLINE_CHECKIN_GRACE_SECONDS="5"))
    assert_one_line(done, GRACE_TOO_SHORT)
    assert "serving" not in done.stdout


def test_the_installed_spotline_command_says_the_same(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("spotline")
    if not script.exists():
        pytest.skip("no installed spotline script beside this interpreter")
    done = subprocess.run(  # noqa: S603 - our own script
        [str(script), "worker", "--once"], cwd=ROOT, capture_output=True, text=True,
        env=env_with(tmp_path, SPOTLINE_CHECKIN_GRACE_SECONDS="5"),
        stdin=subprocess.DEVNULL, timeout=HANG_GUARD, check=False)
    assert_one_line(done, GRACE_TOO_SHORT)


@pytest.mark.parametrize("module", ["spotline.asgi", "spotline.wsgi"])
def test_the_asgi_and_wsgi_modules_say_the_same(tmp_path: Path, module: str) -> None:
    # What uvicorn, daphne or a WSGI server sees when it imports the application.
    done = start(["-c", f"import {module}"],
                 env_with(tmp_path, SPOTLINE_CHECKIN_GRACE_SECONDS="5"))
    assert_one_line(done, GRACE_TOO_SHORT)


@pytest.mark.parametrize(("setting", "value", "message"), [
    ("SPOTLINE_P1_OFFERS", "lots", "SPOTLINE_P1_OFFERS must be a whole number of at least 1, "
                                   "not 'lots'"),
    ("EMAIL_PORT", "70000", "EMAIL_PORT must be between 1 and 65535, not 70000"),
    ("SPOTLINE_LOG_LEVEL", "loud", "SPOTLINE_LOG_LEVEL is DEBUG, INFO, WARNING, ERROR or "
                                   "CRITICAL, not 'LOUD'"),
    ("DATABASE_URL", "postgres://spotline:hunter2@db:port/spotline",
     "DATABASE_URL must look like postgres://user:password@host:port/name"),
])
def test_it_names_the_setting_and_what_it_takes(tmp_path: Path, setting: str, value: str,
                                                message: str) -> None:
    done = start(["-m", "spotline", "check"], env_with(tmp_path, **{setting: value}))
    assert_one_line(done, f"spotline: configuration error: {message}")
    assert "hunter2" not in done.stderr


@pytest.mark.parametrize(("value", "message"), [
    ("5", "SPOTLINE_X must be between 10 and 600, not 5"),
    ("601", "SPOTLINE_X must be between 10 and 600, not 601"),
    ("five", "SPOTLINE_X must be a whole number between 10 and 600, not 'five'"),
])
def test_a_whole_number_out_of_range_says_the_range(monkeypatch: pytest.MonkeyPatch, value: str,
                                                    message: str) -> None:
    monkeypatch.setenv("SPOTLINE_X", value)
    with pytest.raises(ConfigError) as caught:
        env_int("SPOTLINE_X", 60, minimum=10, maximum=600)
    assert str(caught.value) == message


def test_a_whole_number_in_range_or_unset_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPOTLINE_X", "600")
    assert env_int("SPOTLINE_X", 60, minimum=10, maximum=600) == 600
    monkeypatch.setenv("SPOTLINE_X", " ")
    assert env_int("SPOTLINE_X", 60, minimum=10, maximum=600) == 60
    monkeypatch.setenv("SPOTLINE_X", "-3")
    assert env_int("SPOTLINE_X", 60) == -3


@pytest.mark.parametrize(("value", "message"), [
    ("0.01", "SPOTLINE_Y must be at least 0.05, not 0.01"),
    ("nan", "SPOTLINE_Y must be a number of at least 0.05, not 'nan'"),
    ("inf", "SPOTLINE_Y must be a number of at least 0.05, not 'inf'"),
    ("soon", "SPOTLINE_Y must be a number of at least 0.05, not 'soon'"),
])
def test_a_number_out_of_range_says_the_range(monkeypatch: pytest.MonkeyPatch, value: str,
                                              message: str) -> None:
    monkeypatch.setenv("SPOTLINE_Y", value)
    with pytest.raises(ConfigError) as caught:
        env_float("SPOTLINE_Y", 0.5, minimum=0.05)
    assert str(caught.value) == message


def test_a_number_without_bounds_says_only_that_it_is_one(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    monkeypatch.setenv("SPOTLINE_Y", "soon")
    with pytest.raises(ConfigError) as caught:
        env_float("SPOTLINE_Y", 0.5)
    assert str(caught.value) == "SPOTLINE_Y must be a number, not 'soon'"
    monkeypatch.setenv("SPOTLINE_Y", "2.5")
    assert env_float("SPOTLINE_Y", 0.5, maximum=3) == 2.5
