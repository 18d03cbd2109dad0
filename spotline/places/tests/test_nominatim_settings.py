"""A Nominatim configuration Spotline cannot use stops it at start-up with one line:
``nominatim`` without a URL, a URL that is not http(s), the public server. Real
processes, as in ``spotline/tests/test_config_errors.py``."""

from __future__ import annotations

from pathlib import Path

import pytest

from spotline.tests.test_config_errors import assert_one_line, env_with, start

NEEDS_URL = ("SPOTLINE_GEOCODER=nominatim needs SPOTLINE_NOMINATIM_URL, the address of "
             "your organization's own Nominatim server")
NOT_HTTP = ("SPOTLINE_NOMINATIM_URL must be an http:// or https:// address such as "
            "https://nominatim.example.org, without ?query")
NOT_PUBLIC = ("SPOTLINE_NOMINATIM_URL must be your organization's own Nominatim server, "
              "never a public one: a crisis text names a person at a place")


@pytest.mark.parametrize(("env", "message"), [
    ({"SPOTLINE_GEOCODER": "google"}, "SPOTLINE_GEOCODER is local or nominatim, not 'google'"),
    ({"SPOTLINE_GEOCODER": "nominatim"}, NEEDS_URL),
    ({"SPOTLINE_GEOCODER": "nominatim", "SPOTLINE_NOMINATIM_URL": "ftp://geo.example.org"},
     NOT_HTTP),
    ({"SPOTLINE_GEOCODER": "nominatim",
      "SPOTLINE_NOMINATIM_URL": "https://user:hunter2@geo.example.org:port"}, NOT_HTTP),
    ({"SPOTLINE_GEOCODER": "nominatim",
      "SPOTLINE_NOMINATIM_URL": "https://nominatim.openstreetmap.org"}, NOT_PUBLIC),
    ({"SPOTLINE_GEOCODER": "nominatim", "SPOTLINE_NOMINATIM_URL": "https://geo.example.org",
      "SPOTLINE_NOMINATIM_TIMEOUT_SECONDS": "30"},
     "SPOTLINE_NOMINATIM_TIMEOUT_SECONDS must be between 0.1 and 10.0, not 30"),
])
def test_a_bad_geocoder_setting_is_one_line(tmp_path: Path, env: dict[str, str],
                                            message: str) -> None:
    done = start(["-m", "spotline", "check"], env_with(tmp_path, **env))
    assert_one_line(done, f"spotline: configuration error: {message}")
    assert "hunter2" not in done.stderr


def test_the_organizations_own_server_is_taken(tmp_path: Path) -> None:
    done = start(["-c", "import django; django.setup(); from django.conf import settings; "
                        "print(settings.SPOTLINE_GEOCODER, settings.SPOTLINE_NOMINATIM_URL, "
                        "settings.SPOTLINE_NOMINATIM_TIMEOUT_SECONDS)"],
                 env_with(tmp_path, SPOTLINE_GEOCODER="Nominatim",
                          SPOTLINE_NOMINATIM_URL="https://geo.example.org/nominatim/",
                          DJANGO_SETTINGS_MODULE="spotline.settings"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["nominatim", "https://geo.example.org/nominatim", "2.0"]
