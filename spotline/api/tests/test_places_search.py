"""GET /api/v1/places/search: what a place in words may mean, for dispatchers, against
the demo extract (the fixed contract of issue 14)."""

from __future__ import annotations

import logging

import pytest

from spotline.conftest import Api, api_for
from spotline.places.geocode import KINDS

# The demo extract, imported once for the module (places' own fixture).
from spotline.places.tests.conftest import gazetteer  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("gazetteer")]

CONTRACT = {"name", "lat", "lon", "confidence", "kind", "radius_m"}


def search(api: Api, query: str) -> object:
    return api.get(f"/api/v1/places/search?{query}")


def test_it_finds_a_real_helsinki_address_despite_a_typo(dispatcher_api: Api) -> None:
    r = search(dispatcher_api, "q=mannerhiemintie+5")
    assert r.status_code == 200
    found = r.json()
    assert found[0]["name"] == "Mannerheimintie 5" and found[0]["kind"] == "address"
    assert found[0]["lat"] == pytest.approx(60.1694, abs=0.001)
    assert found[0]["lon"] == pytest.approx(24.9404, abs=0.001)


def test_it_answers_the_fixed_contract_best_first(dispatcher_api: Api) -> None:
    found = search(dispatcher_api, "q=r-kioski").json()
    assert len(found) >= 2 and found[0]["name"].startswith("R-Kioski")
    for item in found:
        assert CONTRACT <= item.keys()
        assert 0 <= item["confidence"] <= 1 and item["kind"] in KINDS
        assert item["radius_m"] > 0
    confidences = [item["confidence"] for item in found]
    assert confidences == sorted(confidences, reverse=True)


def test_it_gives_at_most_limit_places(dispatcher_api: Api) -> None:
    assert len(search(dispatcher_api, "q=alepa&limit=2").json()) == 2
    assert search(dispatcher_api, "q=alepa&limit=0").status_code == 422
    assert search(dispatcher_api, "q=alepa&limit=21").status_code == 422


@pytest.mark.parametrize("query", ["", "q=", "q=+++", "q=%F0%9F%9A%91%F0%9F%9A%91",
                                   "q=zzqx+vvkk", 'q="*"+NEAR+OR'])
def test_it_answers_an_empty_list_to_nothing_findable(dispatcher_api: Api, query: str) -> None:
    r = search(dispatcher_api, query)
    assert r.status_code == 200 and r.json() == []


def test_it_refuses_a_text_longer_than_500_characters_clearly(dispatcher_api: Api) -> None:
    r = search(dispatcher_api, "q=" + "a" * 501)
    assert r.status_code == 422 and "q" in r.json()["detail"]
    assert "aaaa" not in r.json()["detail"]  # the text is not echoed back
    assert search(dispatcher_api, "q=" + "kiasma " * 70).status_code == 200  # 490


def test_it_is_for_dispatchers_only(public_api: Api, make_responder) -> None:
    assert search(public_api, "q=kiasma").status_code == 401
    assert search(api_for(make_responder("sam")), "q=kiasma").status_code == 404


def test_it_never_logs_the_words(dispatcher_api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    assert search(dispatcher_api, "q=kiasma").json()[0]["name"].startswith("Kiasma")
    assert "kiasma" not in caplog.text.lower()
