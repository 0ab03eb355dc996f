"""UI language choice and sign-in gate (server side; the browser flow is in test_api_browser)."""

from __future__ import annotations

from flask import Flask

from notaus.api.i18n import pick_lang


def test_language_query_beats_cookie_beats_accept_language_beats_default() -> None:
    assert pick_lang("en", "de", [("de", 1.0)], "de") == "en"
    assert pick_lang(None, "en", [("de", 1.0)], "de") == "en"
    assert pick_lang(None, None, [("fr", 1.0), ("en-GB", 0.8), ("de", 0.5)], "de") == "en"
    assert pick_lang("xx", None, [("fr", 1.0)], "de") == "de"


def test_pages_switch_language_and_remember_it(app: Flask, tokens: dict[str, str]) -> None:
    client = app.test_client()
    client.get("/login")
    csrf = client.get_cookie("notaus_csrf")
    assert csrf is not None
    client.post("/login", data={"token": tokens["staff"], "csrf": csrf.value, "next": "/"})
    assert "Praxis vom Internet trennen" in client.get("/").get_data(as_text=True)
    assert "Disconnect the practice from the internet" in client.get("/?lang=en").get_data(as_text=True)
    assert "Disconnect the practice" in client.get("/").get_data(as_text=True)      # cookie remembered
    other = app.test_client()
    page = other.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(as_text=True)
    assert "Sign in" in page and 'lang="en"' in page


def test_ui_needs_a_staff_level_token(app: Flask, tokens: dict[str, str]) -> None:
    client = app.test_client()
    assert "panic-button" not in client.get("/").get_data(as_text=True)
    client.get("/login")
    csrf = client.get_cookie("notaus_csrf")
    assert csrf is not None
    resp = client.post("/login", data={"token": tokens["agent"], "csrf": csrf.value})
    assert resp.status_code == 401                       # agent tokens are for machines only
    assert "panic-button" not in client.get("/").get_data(as_text=True)
