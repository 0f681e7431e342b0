"""The dashboard in process (no browser): every page and form, its guards and its HTML errors.

What a browser adds (scripts, the live tail arriving, layout, accessibility) is in
test_browser.py; this file covers the routes' behaviour in milliseconds.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from linkup_emulator import control
from linkup_emulator.api.ui import forms, guard, pages, render, tail
from linkup_emulator.clock import parse_instant
from linkup_emulator.control import ControlError
from linkup_emulator.main import create_app
from linkup_emulator.observability.metrics import tenant_digest, tenant_label
from linkup_emulator.settings import Settings
from tests.support.http import recommend

UI = "/_emulator/ui"
CLOCK = "2026-04-26T10:35:00Z"
TOKEN = "s3cret-token"
FORM = {"content-type": "application/x-www-form-urlencoded"}


def tid(api_key: str, secret: bytes = b"") -> str:
    return tenant_digest(api_key, secret)[:16]


@pytest.fixture
def ui() -> Iterator[TestClient]:
    settings = Settings(seed="t", log_level="warning", clock=CLOCK)
    with TestClient(create_app(settings), follow_redirects=False) as client:
        yield client


def csrf(client: TestClient, path: str = UI) -> str:
    """Load a page, as a browser does before it posts one of its forms."""
    page = client.get(path, follow_redirects=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


def post(client: TestClient, path: str, **fields: str) -> Any:
    return client.post(path, data={"csrf_token": csrf(client), **fields})


def report(client: TestClient, api_key: str = "demo_key") -> dict[str, Any]:
    found: dict[str, Any] = client.get(f"/_emulator/keys/{api_key}").json()
    return found


# -- pages ---------------------------------------------------------------------------------------


def test_tenants_page_lists_every_tenant_masked_with_its_link_and_chart(ui: TestClient) -> None:
    assert recommend(ui, "acc_demo", 15).status_code == 200
    page = ui.get(UI)
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    assert tenant_label("demo_key") in page.text  # ****_key#7f4711, as /metrics labels it
    assert f'href="{UI}/tenants/{tid("demo_key")}"' in page.text
    assert "demo_key" not in page.text  # no key in full, anywhere
    assert "1 calls in the last hour" in page.text  # the chart's label
    cookie = page.headers["set-cookie"]
    assert "linkup_ui_csrf=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert f"Path={UI}" in cookie


def test_a_tenant_page_shows_accounts_usage_faults_and_its_journal(ui: TestClient) -> None:
    recommend(ui, "acc_demo", 15)
    recommend(ui, "acc_inactive")
    ui.post("/_emulator/faults", json={"match": {"api_key": "demo_key"}, "error": "RATE_LIMITED"})
    page = ui.get(f"{UI}/tenants/{tid('demo_key')}")
    assert page.status_code == 200
    text = page.text
    assert "acc_demo_fr" in text
    assert "flt_1" in text
    assert "RATE_LIMITED" in text
    assert re.search(r"<th scope=\"row\">recommendations</th><td class=\"num\">2</td>", text)
    assert "403 ACCOUNT_INACTIVE" in text
    assert "demo_key" not in text


def test_usage_per_action_counts_calls_errors_and_credits() -> None:
    rows: list[dict[str, Any]] = [
        {"action": "recommendations", "status": 200, "credits": 2},
        {"action": "recommendations", "status": 402, "credits": 0},
        {"action": None, "status": 404, "credits": 0},
    ]
    assert pages.usage_per_action(rows) == [
        {"action": "recommendations", "calls": 2, "errors": 1, "credits": 2},
        {"action": "(none)", "calls": 1, "errors": 1, "credits": 0},
    ]


def test_the_chart_counts_the_last_hour_in_two_minute_bars() -> None:
    now = parse_instant(CLOCK)
    times = [
        "2026-04-26T10:35:00Z",  # now: the last bar
        "2026-04-26T10:34:30Z",
        "2026-04-26T09:36:00Z",  # 59 minutes ago: the first bar
        "2026-04-26T09:30:00Z",  # over an hour ago: left out
        "2026-04-26T10:40:00Z",  # after now (a tenant ahead): left out
    ]
    drawn = render.chart(times, now)
    assert [bar.calls for bar in drawn.bars if bar.calls] == [1, 2]
    assert drawn.bars[0].calls == 1
    assert drawn.bars[-1].calls == 2
    assert (drawn.total, drawn.peak) == (3, 2)
    assert drawn.bars[-1].height == render.CHART_HEIGHT - 2
    assert render.chart([], now).total == 0


def test_the_journal_page_filters_by_tenant_and_account(ui: TestClient) -> None:
    recommend(ui, "acc_demo")
    recommend(ui, "acc_demo_fr")
    ui.get("/v2/credits", headers={"x-api-key": "nobody"})
    everything = ui.get(f"{UI}/journal")
    assert everything.status_code == 200
    assert "3 rows match" in everything.text
    assert "no key" in everything.text
    assert f'data-stream="{UI}/journal/stream"' in everything.text
    one = ui.get(f"{UI}/journal", params={"tenant": tid("demo_key"), "account_id": "acc_demo"})
    assert "1 row match" in one.text
    stream = f"{UI}/journal/stream?tenant={tid('demo_key')}&amp;account_id=acc_demo"
    assert stream in one.text
    bad = ui.get(f"{UI}/journal", params={"limit": "0"})
    assert bad.status_code == 400
    assert bad.headers["content-type"].startswith("text/html")
    assert "limit must be an integer" in bad.text


def test_the_clock_page_shows_the_emulated_time(ui: TestClient) -> None:
    page = ui.get(f"{UI}/clock")
    assert "2026-04-26T10:35:00.000Z" in page.text
    assert "frozen" in page.text
    assert "Let it run" in page.text


def test_static_assets_ship_with_the_package(ui: TestClient) -> None:
    for name, kind in (("ui.css", "text/css"), ("ui.js", "javascript"), ("icon.svg", "svg")):
        asset = ui.get(f"{UI}/static/{name}")
        assert asset.status_code == 200
        assert kind in asset.headers["content-type"]
        assert ui.head(f"{UI}/static/{name}").status_code == 200
    missing = ui.get(f"{UI}/static/nope.css")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")


# -- errors are pages; the JSON routes keep theirs -----------------------------------------------


def test_the_dashboards_errors_are_html_and_the_control_planes_json(ui: TestClient) -> None:
    unknown = ui.get(f"{UI}/nowhere")
    assert (unknown.status_code, unknown.headers["content-type"][:9]) == (404, "text/html")
    assert "<h1>404 · Not found</h1>" in unknown.text
    gone = ui.get(f"{UI}/tenants/0000000000000000")
    assert gone.status_code == 404
    assert "no tenant has this id" in gone.text
    wrong = ui.get(f"{UI}/reset")
    assert (wrong.status_code, wrong.headers["allow"]) == (405, "POST")
    assert wrong.headers["content-type"].startswith("text/html")
    json_side = ui.get("/_emulator/nowhere")
    assert json_side.json()["error"]["code"] == "NOT_FOUND"


def test_an_unexpected_error_on_a_page_is_an_html_500(monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(*_: object, **__: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(control, "tenants", broken)
    app = create_app(Settings(seed="t", log_level="critical"))
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.get(UI)
    assert answer.status_code == 500
    assert answer.headers["content-type"].startswith("text/html")
    assert "An unexpected error occurred" in answer.text
    assert "boom" not in answer.text


# -- forms ---------------------------------------------------------------------------------------


def test_credits_and_rate_limit(ui: TestClient) -> None:
    base = f"{UI}/tenants/{tid('demo_key')}"
    done = post(ui, f"{base}/credits", credits="42")
    assert (done.status_code, done.headers["location"]) == (303, f"{base}?done=credits")
    assert "Credits set." in ui.get(done.headers["location"]).text
    assert report(ui)["credits"]["balance"] == 42
    post(ui, f"{base}/credits", unmetered="1")
    assert report(ui)["credits"]["balance"] is None
    refused = post(ui, f"{base}/credits", credits="-3")
    assert refused.status_code == 400
    assert "credits: Input should be greater than or equal to 0" in refused.text
    assert post(ui, f"{base}/rate-limit", rate_limit="9").status_code == 303
    assert report(ui)["rate_limit"] == 9
    post(ui, f"{base}/rate-limit", rate_limit="")  # back to the server's default
    assert report(ui)["rate_limit"] == 300
    refused = post(ui, f"{base}/rate-limit", rate_limit="1.5")
    assert (refused.status_code, report(ui)["rate_limit"]) == (400, 300)
    assert "rate_limit: must be a whole number" in refused.text


def test_reset_a_tenant_and_everything(ui: TestClient) -> None:
    recommend(ui, "acc_demo", 30)
    base = f"{UI}/tenants/{tid('demo_key')}"
    assert post(ui, f"{base}/reset").headers["location"] == f"{base}?done=reset"
    assert report(ui)["credits"] == {"balance": 1000, "consumed": 0}
    ui.post("/_emulator/keys", json={"api_key": "gone_soon", "accounts": []})
    assert post(ui, f"{UI}/reset").headers["location"] == f"{UI}?done=reset-all"
    assert ui.get("/_emulator/keys/gone_soon").status_code == 404


def test_account_status(ui: TestClient) -> None:
    back = tid("demo_key")
    done = post(ui, f"{UI}/accounts/acc_demo/status", status="inactive", tenant=back)
    assert done.headers["location"] == f"{UI}/tenants/{back}?done=status"
    assert recommend(ui, "acc_demo").status_code == 403
    assert post(ui, f"{UI}/accounts/acc_demo/status", status="active").status_code == 303
    assert recommend(ui, "acc_demo").status_code == 200
    refused = post(ui, f"{UI}/accounts/acc_demo/status", status="asleep", tenant=back)
    assert refused.status_code == 400
    assert "status:" in refused.text
    unknown = post(ui, f"{UI}/accounts/acc_nobody/status", status="active")
    assert unknown.status_code == 404
    assert "no account has this account_id" in unknown.text


def test_fault_rules(ui: TestClient) -> None:
    base = f"{UI}/tenants/{tid('demo_key')}"
    fields = {"account_id": "acc_demo", "action": "recommendations", "error": "INTERNAL_ERROR"}
    added = post(ui, f"{base}/faults", **fields, times="2", delay_ms="", probability="")
    assert added.headers["location"] == f"{base}?done=fault-added"
    (rule,) = ui.get("/_emulator/faults").json()["items"]
    assert rule["match"] == {
        "api_key": "****_key",  # masked, as everywhere
        "account_id": "acc_demo",
        "action": "recommendations",
    }
    assert (rule["error"], rule["times"]) == ("INTERNAL_ERROR", 2)
    assert recommend(ui, "acc_demo").status_code == 500
    post(ui, f"{base}/faults", delay_ms="5", probability="0.5")
    assert ui.get("/_emulator/faults").json()["items"][-1]["probability"] == 0.5
    refused = post(ui, f"{base}/faults", error="INTERNAL_ERROR", times="1", probability="0.5")
    assert refused.status_code == 400
    assert "give times or probability, not both" in refused.text
    removed = post(ui, f"{UI}/faults/{rule['id']}/delete", tenant=tid("demo_key"))
    assert removed.headers["location"] == f"{base}?done=fault-removed"
    assert post(ui, f"{UI}/faults/flt_2/delete").headers["location"] == f"{UI}?done=fault-removed"
    assert ui.get("/_emulator/faults").json()["items"] == []
    assert post(ui, f"{UI}/faults/flt_99/delete").status_code == 404


def test_the_clock_forms(ui: TestClient) -> None:
    moved = post(ui, f"{UI}/clock", move="advance", amount="1.5", unit="hours")
    assert moved.headers["location"] == f"{UI}/clock?done=clock"
    assert ui.get("/_emulator/clock").json()["now"] == "2026-04-26T12:05:00.000Z"
    post(ui, f"{UI}/clock", move="set", instant="2026-05-01T09:00:00+02:00")
    assert ui.get("/_emulator/clock").json()["now"] == "2026-05-01T07:00:00.000Z"
    post(ui, f"{UI}/clock", move="thaw")
    assert ui.get("/_emulator/clock").json()["frozen"] is False
    post(ui, f"{UI}/clock", move="freeze")
    assert ui.get("/_emulator/clock").json()["frozen"] is True
    for fields, reason in (
        ({"move": "set", "instant": "2020-01-01T00:00:00Z"}, "time only moves forward"),
        ({"move": "advance", "amount": "-5"}, "advance_s: Input should be greater than"),
        ({"move": "advance", "amount": "x"}, "Input should be a valid number"),
        ({"move": "advance", "amount": "1", "unit": "weeks"}, "unit must be one of"),
        ({"move": "sideways"}, "move must be advance, set, freeze or thaw"),
    ):
        refused = post(ui, f"{UI}/clock", **fields)
        assert refused.status_code == 400, fields
        assert reason in refused.text, (fields, refused.text[-2000:])
    base = f"{UI}/tenants/{tid('demo_key')}"
    post(ui, f"{base}/clock", move="advance", amount="61", unit="seconds")
    assert ui.get("/_emulator/clock", params={"api_key": "demo_key"}).json()["offset_s"] == 61
    refused = post(ui, f"{base}/clock", move="freeze")
    assert refused.status_code == 400
    assert "freeze is global" in refused.text


def test_create_a_tenant(ui: TestClient) -> None:
    fields = {"api_key": "made_here", "credits": "5", "rate_limit": "3", "accounts": "a1, a2"}
    done = post(ui, f"{UI}/tenants", **fields, country="DE")
    assert done.headers["location"] == f"{UI}/tenants/{tid('made_here')}?done=created"
    made = report(ui, "made_here")
    assert (made["credits"]["balance"], made["rate_limit"]) == (5, 3)
    assert [(a["account_id"], a["country"]) for a in made["accounts"]] == [
        ("a1", "DE"),
        ("a2", "DE"),
    ]
    post(ui, f"{UI}/tenants", api_key="free_one", unmetered="1", accounts="")
    assert report(ui, "free_one")["credits"]["balance"] is None
    assert report(ui, "free_one")["accounts"] == []
    taken = post(ui, f"{UI}/tenants", api_key="made_here", accounts="a3")
    assert taken.status_code == 409
    assert 'value="made_here"' in taken.text  # the form comes back filled in
    assert 'value="a3"' in taken.text
    bad = post(ui, f"{UI}/tenants", api_key="", accounts="")
    assert bad.status_code == 400
    assert "api_key:" in bad.text


# -- the guards ----------------------------------------------------------------------------------


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(ui: TestClient) -> None:
    url = f"{UI}/tenants/{tid('demo_key')}/credits"
    token = csrf(ui)
    for data, headers in (
        ({"credits": "1"}, FORM),
        ({"credits": "1", "csrf_token": "forged"}, FORM),
    ):
        refused = ui.post(url, data=data, headers=headers)
        assert refused.status_code == 403
        assert "security token" in refused.text
    as_json = ui.post(url, json={"credits": 1, "csrf_token": token})
    assert as_json.status_code == 400
    assert "application/x-www-form-urlencoded" in as_json.text
    not_utf8 = ui.post(url, content=b"credits=\xff&csrf_token=" + token.encode(), headers=FORM)
    assert (not_utf8.status_code, "could not be read" in not_utf8.text) == (400, True)
    huge = ui.post(url, content=b"a=" + b"x" * 70_000, headers=FORM)
    assert (huge.status_code, "too large" in huge.text) == (400, True)
    ui.cookies.clear()  # a browser without the cookie: the page's token alone is not enough
    assert ui.post(url, data={"credits": "1", "csrf_token": token}).status_code == 403
    assert report(ui)["credits"]["balance"] == 1000


@pytest.fixture
def guarded() -> Iterator[TestClient]:
    settings = Settings(seed="t", log_level="warning", admin_token=TOKEN)
    with TestClient(create_app(settings), follow_redirects=False) as client:
        yield client


def test_with_an_admin_token_the_pages_ask_for_it_once(guarded: TestClient) -> None:
    wanted = f"{UI}/journal?limit=5"
    sent = guarded.get(wanted)
    assert sent.status_code == 303
    assert sent.headers["location"] == f"{UI}/login?next=%2F_emulator%2Fui%2Fjournal%3Flimit%3D5"
    login = guarded.get(sent.headers["location"])
    assert 'type="password"' in login.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
    assert token
    fields = {"csrf_token": token.group(1), "next": wanted}
    wrong = guarded.post(f"{UI}/login", data={**fields, "token": "nope"})
    assert wrong.status_code == 401
    assert "not the admin token" in wrong.text
    assert "linkup_ui_session" not in guarded.cookies
    signed = guarded.post(f"{UI}/login", data={**fields, "token": TOKEN})
    assert (signed.status_code, signed.headers["location"]) == (303, wanted)
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert TOKEN not in cookie
    assert guarded.get(wanted).status_code == 200
    assert 'action="/_emulator/ui/logout"' in guarded.get(UI).text
    # The dashboard's session is not the JSON control plane's: that still wants the bearer.
    assert guarded.get("/_emulator/keys/demo_key").status_code == 401
    out = guarded.post(f"{UI}/logout", data={"csrf_token": token.group(1)})
    assert out.headers["location"] == f"{UI}/login?done=signed-out"
    assert guarded.get(UI).status_code == 303


def test_with_an_admin_token_forms_and_the_tail_need_the_session(guarded: TestClient) -> None:
    login = guarded.get(f"{UI}/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
    assert token
    refused = guarded.post(
        f"{UI}/tenants/{tid('demo_key', TOKEN.encode())}/credits",
        data={"csrf_token": token.group(1), "credits": "1"},
    )
    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("text/html")
    assert guarded.get(f"{UI}/journal/stream").status_code == 401
    for page in ("", "/clock", f"/tenants/{tid('demo_key', TOKEN.encode())}"):
        assert guarded.get(UI + page).status_code == 303


def test_tenant_ids_are_keyed_with_the_admin_token() -> None:
    assert tid("demo_key", TOKEN.encode()) != tid("demo_key")
    assert len(tid("demo_key")) == render.TENANT_ID_HEX


def test_the_login_page_without_a_token_goes_to_the_tenants(ui: TestClient) -> None:
    assert ui.get(f"{UI}/login").headers["location"] == UI
    assert post(ui, f"{UI}/login", token="x").headers["location"] == UI
    assert post(ui, f"{UI}/logout").headers["location"] == f"{UI}?done=signed-out"


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        (f"{UI}/journal?tenant=x", f"{UI}/journal?tenant=x"),
        ("https://elsewhere.example/", UI),
        (f"{UI}//elsewhere.example", UI),
        (f"{UI}\\..", UI),
        ("/metrics", UI),
    ],
)
def test_login_sends_the_browser_back_only_to_a_dashboard_page(given: str, kept: str) -> None:
    assert pages.safe_next(given) == kept


# -- the live tail -------------------------------------------------------------------------------


def test_the_tail_sends_rows_after_the_last_seen_once_oldest_first(
    ui: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tail, "LIFETIME_S", 0.0)  # one read, then the stream ends
    recommend(ui, "acc_demo")
    first = ui.get(f"{UI}/journal/stream")  # no Last-Event-ID, no after: from now on
    assert first.headers["content-type"].startswith("text/event-stream")
    assert first.text == "retry: 1000\n\n"
    recommend(ui, "acc_demo_fr")
    recommend(ui, "acc_demo_de")
    body = ui.get(f"{UI}/journal/stream", params={"after": "1"}).text
    assert re.findall(r"^id: (\d+)$", body, re.MULTILINE) == ["2", "3"]
    assert '"account_id":"acc_demo_fr"' in body
    assert f'"api_key":{{"id":"{tid("demo_key")}","label":"{tenant_label("demo_key")}"}}' in body
    again = ui.get(f"{UI}/journal/stream", headers={"last-event-id": "2"}, params={"after": "x"})
    assert re.findall(r"^id: (\d+)$", again.text, re.MULTILINE) == ["3"]
    only = ui.get(f"{UI}/journal/stream", params={"after": "0", "account_id": "acc_demo_de"})
    assert re.findall(r"^id: (\d+)$", only.text, re.MULTILINE) == ["3"]
    monkeypatch.setattr(tail, "LIFETIME_S", 60.0)
    head = ui.head(f"{UI}/journal/stream")  # answered at once: no stream to wait for
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["content-type"].startswith("text/event-stream")


def test_the_tail_polls_until_its_lifetime_ends(ui: TestClient) -> None:
    emulator = ui.app.state.emulator  # type: ignore[attr-defined]

    async def read() -> list[bytes]:
        stream = tail.tail(emulator, {}, lambda key: key, None, lifetime=0.05, poll=0.01)
        return [chunk async for chunk in stream]

    assert asyncio.run(read()) == [b"retry: 1000\n\n"]


# -- small parts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [("12", 12), (" 7 ", 7), ("-3", -3), ("1.5", 1.5), ("ten", "ten"), ("", ""), ("1e3", "1e3")],
)
def test_form_numbers_are_json_numbers_or_stay_text(text: str, value: object) -> None:
    assert forms.number(text) == value


def test_clock_moves_from_forms() -> None:
    assert forms.clock_move({"move": "advance", "amount": "2", "unit": "days"}) == {
        "advance_s": 172800
    }
    assert forms.clock_move({"move": "advance", "amount": "soon"}) == {"advance_s": "soon"}
    assert forms.clock_move({"move": "freeze"}) == {"freeze": True}
    with pytest.raises(ControlError):
        forms.clock_move({})


def test_the_session_cookie_is_an_hmac_of_the_token_not_the_token() -> None:
    value = guard.session_value(TOKEN.encode())
    assert TOKEN not in value
    assert len(value) == 64
    assert value != guard.session_value(b"another")


def test_a_tenant_reset_away_while_the_list_is_read_is_left_out(
    ui: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ui.app.state.emulator.store  # type: ignore[attr-defined]
    listed = store.api_keys

    async def with_a_ghost() -> list[str]:
        return ["ghost_key", *await listed()]

    monkeypatch.setattr(store, "api_keys", with_a_ghost)
    page = ui.get(UI)
    assert page.status_code == 200
    assert tenant_label("ghost_key") not in page.text
    assert tenant_label("demo_key") in page.text


# -- an account's network ------------------------------------------------------------------------


def test_the_account_page_shows_its_network_paged(ui: TestClient) -> None:
    view = ui.get("/_emulator/accounts/acc_demo/network").json()
    page = ui.get(f"{UI}/accounts/acc_demo")
    assert page.status_code == 200
    for sent in view["sent"]:
        assert sent["invitation_id"] in page.text
        assert sent["fate"]["at"] in page.text
    for received in view["received"]:
        assert received["shared_secret"] in page.text
    assert f"1\u201325 of {view['counts']['connections']}" in page.text
    assert 'href="?offset=25"' in page.text
    assert "media.licdn.com" not in page.text  # no picture is loaded from another host
    assert f'href="{UI}/tenants/{tid("demo_key")}"' in page.text
    later = ui.get(f"{UI}/accounts/acc_demo", params={"offset": "25"})
    assert "26\u201350 of" in later.text
    assert 'href="?offset=0"' in later.text
    empty = ui.get(f"{UI}/accounts/acc_empty")
    assert "1\u20130 of 0" not in empty.text
    assert "0\u20130 of 0" in empty.text
    assert ui.get(f"{UI}/accounts/acc_demo", params={"offset": "-1"}).status_code == 400
    assert ui.get(f"{UI}/accounts/acc_nobody").status_code == 404


def test_network_lists_are_the_actions_own_pages(ui: TestClient) -> None:
    emulator = ui.app.state.emulator  # type: ignore[attr-defined]
    found = asyncio.run(control.network_lists(emulator, "acc_demo", 3, 4))
    body = {
        "account_id": "acc_demo",
        "action": "list_connections",
        "params": {"count": 4, "offset": 3},
    }
    listed = ui.post("/v2/network", json=body, headers={"x-api-key": "demo_key"}).json()["data"]
    assert found["connections"] == listed["connections"]
    pymk = recommend(ui, "acc_demo", 7).json()["data"]["recommendations"]
    assert found["pymk"] == pymk[3:7]
    assert found["pymk_total"] == 1000
    with pytest.raises(ControlError):
        asyncio.run(control.network_lists(emulator, "acc_demo", 0, 0))
    with pytest.raises(control.Missing):
        asyncio.run(control.network_lists(emulator, "acc_nobody", 0, 5))
    past = asyncio.run(control.network_lists(emulator, "acc_demo", 2000, 5))
    assert (past["connections"], past["pymk"]) == ([], [])


def test_the_invitation_forms(ui: TestClient) -> None:
    network = "/_emulator/accounts/acc_demo/network"
    before = ui.get(network).json()
    base = f"{UI}/accounts/acc_demo"
    arrived = post(ui, f"{base}/invitations", profile_url="https://www.linkedin.com/in/jane-doe-42")
    assert arrived.headers["location"] == f"{base}?done=arrived"
    post(ui, f"{base}/invitations", profile_url="")  # a generated member
    after = ui.get(network).json()
    assert after["counts"]["pending_received"] == before["counts"]["pending_received"] + 2
    assert "Jane Doe" in [r["member"]["name"] for r in after["received"]]
    again = post(ui, f"{base}/invitations", profile_url="https://www.linkedin.com/in/jane-doe-42")
    assert again.status_code == 409
    assert "already in a pending invitation" in again.text
    bad = post(ui, f"{base}/invitations", profile_url="https://example.com/x")
    assert bad.status_code == 400
    assert post(ui, f"{UI}/accounts/acc_nobody/invitations").status_code == 404

    first, second = before["sent"][:2]
    url = f"{base}/invitations/{first['invitation_id']}/respond"
    assert post(ui, url, response="accept").headers["location"] == f"{base}?done=answered"
    post(ui, f"{base}/invitations/{second['invitation_id']}/respond", response="decline")
    answered = ui.get(network).json()
    assert answered["counts"]["pending_sent"] == before["counts"]["pending_sent"] - 2
    assert answered["counts"]["connections"] == before["counts"]["connections"] + 1
    twice = post(ui, url, response="accept")
    assert twice.status_code == 404
    assert "names no pending invitation" in twice.text
    wrong = post(
        ui, f"{base}/invitations/{before['sent'][2]['invitation_id']}/respond", response="maybe"
    )
    assert wrong.status_code == 400
    assert (
        post(ui, f"{UI}/accounts/acc_nobody/invitations/1/respond", response="accept").status_code
        == 404
    )
