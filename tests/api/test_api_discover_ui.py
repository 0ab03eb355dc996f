"""The provider's discovery page: who may see and run it, CSRF, and the draft it shows (simulator behind)."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from notaus.api.security import CSRF_COOKIE, SESSION_COOKIE


def test_only_the_provider_may_see_the_page(client: FlaskClient, auth: Any) -> None:
    staff = client.get("/provider/discover", headers=auth("staff"))
    assert staff.status_code == 303 and "/login" in staff.headers["Location"]
    page = client.get("/provider/discover", headers=auth("provider"))
    assert page.status_code == 200 and 'id="discover-form"' in page.get_data(as_text=True)
    assert client.post("/provider/discover", headers=auth("staff"), data={"csrf": "x"}).status_code == 403


def test_run_needs_csrf_then_shows_suggestions_with_reasons(client: FlaskClient, tokens: dict[str, str],
                                                            engine: Any) -> None:
    client.set_cookie(SESSION_COOKIE, tokens["provider"])      # signed in in the browser
    assert client.post("/provider/discover", data={}).status_code == 403
    client.set_cookie(CSRF_COOKIE, "tok")
    assert client.post("/provider/discover", data={"csrf": "other"}).status_code == 403
    run = client.post("/provider/discover", data={"csrf": "tok"})
    assert run.status_code == 303
    html = client.get("/provider/discover?lang=en").get_data(as_text=True)
    assert 'id="discover-hosts"' in html and "FRITZ!Box 7590" in html
    assert "empfang-pc" in html and "no rule matched" in html
    # the simulator lists no praxisserver: the policy's host has left the network
    assert "[left]" in html and "praxisserver" in html
    assert 'id="discover-draft"' in html and "keep_voip_clients: true" in html
    assert [e.kind for e in engine.journal.entries(kind="discover.run")] == ["discover.run"]


def test_router_down_is_a_sentence_not_a_5xx(client: FlaskClient, auth: Any, sim: Any, engine: Any) -> None:
    sim.stop()
    resp = client.post("/provider/discover", headers=auth("provider"), data={})
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert 'id="discover-error"' in html and "did not answer" in html
    assert engine.journal.entries(kind="discover.failed")
