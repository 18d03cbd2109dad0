"""Typed helpers that read settings from the environment and fail loudly.

A typo in a production setting must stop the process at start-up with the variable's
name in the message, not surface as odd behaviour during an overdose at 3 a.m. The
message also says what would have been accepted (the allowed range of a number), and
``exit_on_config_error`` turns it into one line on stderr instead of a traceback.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# The exit status of a configuration error: 2, as for a command line a program cannot
# use (EX_USAGE-like); 1 stays "it ran and failed".
CONFIG_ERROR_STATUS = 2


class ConfigError(Exception):
    pass


@contextmanager
def exit_on_config_error() -> Iterator[None]:
    """Run the block; a ConfigError becomes one line on stderr and exit status 2.

    Around every way Spotline starts (``spotline ...``, ``python -m spotline``, the
    ASGI and WSGI modules), so that the person who set the variable reads which one
    and what it takes, and not a traceback through Django's settings loader.
    """
    try:
        yield
    except ConfigError as exc:
        sys.stderr.write(f"spotline: configuration error: {exc}\n")
        sys.stderr.flush()
        raise SystemExit(CONFIG_ERROR_STATUS) from None


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}")


def allowed_range(minimum: float | None, maximum: float | None) -> str:
    """The allowed range in words: "between 30 and 600", "at least 30", "at most 600"."""
    if minimum is not None and maximum is not None:
        return f"between {minimum} and {maximum}"
    if minimum is not None:
        return f"at least {minimum}"
    if maximum is not None:
        return f"at most {maximum}"
    return ""


def _out_of_range(name: str, raw: str, minimum: float | None,
                  maximum: float | None) -> ConfigError:
    return ConfigError(f"{name} must be {allowed_range(minimum, maximum)}, not {raw.strip()}")


def _not_a_number(name: str, raw: str, kind: str, minimum: float | None,
                  maximum: float | None) -> ConfigError:
    bounds = allowed_range(minimum, maximum)
    if bounds.startswith("at"):
        bounds = f"of {bounds}"
    return ConfigError(f"{name} must be {kind}{' ' + bounds if bounds else ''}, not {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None,
            maximum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _not_a_number(name, raw, "a whole number", minimum, maximum) from None
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise _out_of_range(name, raw, minimum, maximum)
    return value


def env_float(name: str, default: float, *, minimum: float | None = None,
              maximum: float | None = None) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):  # a word, "nan" or "inf"
        raise _not_a_number(name, raw, "a number", minimum, maximum)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise _out_of_range(name, raw, minimum, maximum)
    return value


def env_list(name: str, default: str = "") -> list[str]:
    raw = os.environ.get(name, default)
    return [part.strip() for part in raw.split(",") if part.strip()]


def env_secret(name: str, default: str = "") -> str:
    """A secret from NAME, or from the file named by NAME_FILE (Docker/systemd secrets)."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise ConfigError(f"{name}_FILE names {path!r}, which cannot be read: {exc}") from None
    return os.environ.get(name, default)
