"""The dashboard in a real browser: one emulator process (with an admin token, the clock frozen),
one Chromium and one signed-in context for the module (per xdist worker that runs some of its
tests), a fresh page per test.

Each page: no console error, no request for another host, no axe-core violation (of any impact:
the bar is none serious or critical), no sideways scrolling at 390 px. Each form: what the
JSON control plane then reports. The journal's live tail, the sign-in flow and a POST without
its CSRF token.

With LINKUP_SCREENSHOTS=1 (`make screenshots`) the pages' screenshots are written to docs/ for
the README; otherwise to a temporary folder, so a run leaves the checkout as it was.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, StorageState, ViewportSize, expect

from linkup_emulator.clock import parse_instant
from linkup_emulator.observability.metrics import tenant_digest
from tests.support.browser import Watch, axe_source, axe_violations, launched
from tests.support.servers import running
from tests.support.tools import REPO

pytestmark = pytest.mark.slow

SCRIPT = Path(sys.executable).parent / "linkup-emulator"
TOKEN = "ui-admin-token"
CLOCK = "2026-04-26T10:35:00Z"
UI = "/_emulator/ui"
WIDE: ViewportSize = {"width": 1280, "height": 900}
NARROW: ViewportSize = {"width": 390, "height": 844}
AXE_RESULTS: dict[str, list[dict[str, Any]]] = {}


def tenant_id(api_key: str) -> str:
    return tenant_digest(api_key, TOKEN.encode())[:16]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """The emulator, and a client of its JSON routes (with the admin token)."""
    log = tmp_path_factory.mktemp("ui-server") / "stderr.log"
    env = {
        **os.environ,
        "EMULATOR_LOG_LEVEL": "warning",
        "EMULATOR_ADMIN_TOKEN": TOKEN,
        "EMULATOR_CLOCK": CLOCK,
    }
    with running([str(SCRIPT), "--port", "0"], env, log) as client:
        client.headers["authorization"] = f"Bearer {TOKEN}"
        _traffic(client)
        yield client


def _traffic(client: httpx.Client) -> None:
    """Calls over an emulated hour, so the charts and the journal have something to show."""
    demo = {"x-api-key": "demo_key"}
    for minute in range(0, 60, 4):
        body = {"account_id": "acc_demo", "action": "recommendations", "params": {"count": 15}}
        assert client.post("/v2/network", json=body, headers=demo).status_code == 200
        if minute % 12 == 0:
            client.get("/v2/credits", headers=demo)
            client.get("/v2/accounts/acc_inactive", headers=demo)
        client.post("/_emulator/clock", json={"advance_s": 240})
    inactive = {"account_id": "acc_inactive", "action": "recommendations"}
    assert client.post("/v2/network", json=inactive, headers=demo).status_code == 403
    forced = {**demo, "X-Emulator-Error": "RATE_LIMITED"}
    assert client.get("/v2/credits", headers=forced).status_code == 429


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched() as chromium:
        yield chromium


@pytest.fixture(scope="module")
def axe() -> str:
    return axe_source()


@pytest.fixture(scope="module")
def signed_in(browser: Browser, api: httpx.Client) -> StorageState:
    """A browser's state once signed in (its cookies), for the tests that are past that."""
    context = browser.new_context(base_url=str(api.base_url))
    page = context.new_page()
    page.goto(UI)
    page.get_by_label("Admin token").fill(TOKEN)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/_emulator/ui$"))
    state = context.storage_state()
    context.close()
    return state


@pytest.fixture(scope="module")
def shared_watch(api: httpx.Client) -> Watch:
    return Watch(str(api.base_url).rstrip("/"))


@pytest.fixture(scope="module")
def context(
    browser: Browser, api: httpx.Client, signed_in: StorageState, shared_watch: Watch
) -> Iterator[BrowserContext]:
    """One signed-in context for the tests past signing in (a context costs ~0.5 s here)."""
    opened = browser.new_context(base_url=str(api.base_url), storage_state=signed_in, viewport=WIDE)
    shared_watch.attach(opened)
    yield opened
    opened.close()


@pytest.fixture
def watch(shared_watch: Watch) -> Watch:
    """What this test's page does, from a clean slate."""
    shared_watch.errors.clear()
    shared_watch.foreign.clear()
    shared_watch.requests.clear()
    shared_watch.error_pages.clear()
    return shared_watch


@pytest.fixture
def page(context: BrowserContext, watch: Watch) -> Iterator[Page]:
    opened = context.new_page()
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get("LINKUP_SCREENSHOTS") == "1":
        return REPO / "docs"
    return tmp_path_factory.mktemp("screenshots")


def new_tenant(api: httpx.Client, key: str, **spec: Any) -> str:
    body = {"api_key": key, "credits": 100, "accounts": [{"account_id": f"acc_{key}"}], **spec}
    created = api.post("/_emulator/keys", json=body)
    assert created.status_code == 201, created.text
    return tenant_id(key)


# -- every page ----------------------------------------------------------------------------------

PAGES = {
    "tenants": UI,
    "tenant": f"{UI}/tenants/{tenant_id('demo_key')}",
    "account": f"{UI}/accounts/acc_demo",
    "journal": f"{UI}/journal",
    "clock": f"{UI}/clock",
    "not-found": f"{UI}/tenants/0000000000000000",
}


@pytest.mark.parametrize("name", list(PAGES))
def test_each_page_is_clean_accessible_and_fits_390px(
    name: str, page: Page, watch: Watch, axe: str, shots: Path
) -> None:
    response = page.goto(PAGES[name])
    assert response is not None
    assert response.status == (404 if name == "not-found" else 200)
    assert response.headers["content-type"].startswith("text/html")
    expect(page.locator("h1")).to_be_visible()
    violations = axe_violations(page, axe)
    AXE_RESULTS[name] = violations
    assert violations == []
    if name != "not-found":  # long pages: their first screen
        whole = name not in ("account", "journal")
        page.screenshot(path=shots / f"dashboard-{name}.png", full_page=whole)
    page.set_viewport_size(NARROW)
    page.reload()
    sideways = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert sideways <= 0  # wide tables scroll in their own region, not the page
    if name == "tenants":
        page.screenshot(path=shots / "dashboard-tenants-390.png", full_page=True)
    watch.assert_clean()
    # Every asset the page asked for came from the emulator and was there.
    assert any("/_emulator/ui/static/ui.css" in url for url in watch.requests)


def test_the_login_page_is_accessible(browser: Browser, api: httpx.Client, axe: str) -> None:
    context = browser.new_context(base_url=str(api.base_url), viewport=WIDE)
    watch = Watch(str(api.base_url).rstrip("/"))
    watch.attach(context)
    page = context.new_page()
    page.goto(UI)
    AXE_RESULTS["login"] = axe_violations(page, axe)
    assert AXE_RESULTS["login"] == []
    watch.assert_clean()
    context.close()


# -- signing in ----------------------------------------------------------------------------------


def test_the_admin_token_is_asked_once_and_kept_in_a_strict_httponly_cookie(
    browser: Browser, api: httpx.Client
) -> None:
    context = browser.new_context(base_url=str(api.base_url))
    page = context.new_page()
    page.goto(f"{UI}/journal")
    expect(page).to_have_url(re.compile(r"/_emulator/ui/login\?next="))
    page.get_by_label("Admin token").fill("not-it")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not the admin token")
    page.get_by_label("Admin token").fill(TOKEN)
    page.get_by_label("Admin token").press("Enter")  # the keyboard is enough
    expect(page).to_have_url(re.compile(r"/_emulator/ui/journal$"))
    cookies = {c["name"]: c for c in context.cookies()}
    session = cookies["linkup_ui_session"]
    assert (session["httpOnly"], session["sameSite"], session["path"]) == (True, "Strict", UI)
    assert TOKEN not in session["value"]
    assert "linkup_ui_session" not in page.evaluate("() => document.cookie")
    page.goto(UI)  # no second question
    expect(page.get_by_role("heading", name="Tenants")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/_emulator/ui/login"))
    page.goto(UI)
    expect(page).to_have_url(re.compile(r"/_emulator/ui/login"))
    context.close()


def test_a_post_without_its_csrf_token_is_refused_and_changes_nothing(
    page: Page, api: httpx.Client
) -> None:
    tid = new_tenant(api, "ui_csrf")
    url = f"{UI}/tenants/{tid}/credits"
    forms: list[dict[str, str | float | bool]] = [
        {"credits": "5"},
        {"credits": "5", "csrf_token": "forged"},
    ]
    for form in forms:
        refused = page.request.post(url, form=form, max_redirects=0)
        assert refused.status == 403
        assert refused.headers["content-type"].startswith("text/html")
        assert "security token" in refused.text()
    assert api.get("/_emulator/keys/ui_csrf").json()["credits"]["balance"] == 100
    # The JSON control plane keeps its JSON errors.
    bare = httpx.get(api.base_url.copy_with(path="/_emulator/keys/ui_csrf"))
    assert (bare.status_code, bare.json()["error"]["code"]) == (401, "UNAUTHORIZED")


# -- each form -----------------------------------------------------------------------------------


def test_credits_and_rate_limit_forms(page: Page, api: httpx.Client, watch: Watch) -> None:
    tid = new_tenant(api, "ui_credits")
    page.goto(f"{UI}/tenants/{tid}")
    page.keyboard.press("Tab")  # the keyboard's first stop skips the navigation
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.get_by_label("Set the balance to").fill("4321")
    page.get_by_role("button", name="Set credits").click()
    expect(page.get_by_role("status")).to_have_text("Credits set.")
    assert api.get("/_emulator/keys/ui_credits").json()["credits"]["balance"] == 4321
    page.get_by_role("button", name="Make unmetered").click()
    assert api.get("/_emulator/keys/ui_credits").json()["credits"]["balance"] is None
    page.get_by_label("Requests per minute").fill("7")
    page.get_by_label("Requests per minute").press("Enter")
    expect(page.get_by_role("status")).to_have_text("Rate limit set.")
    assert api.get("/_emulator/keys/ui_credits").json()["rate_limit"] == 7
    # A refused value: the page again, with the control plane's reason and status.
    page.get_by_label("Requests per minute").fill("lots")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Set rate limit").click()
    assert answer.value.status == 400
    expect(page.get_by_role("alert")).to_contain_text("rate_limit: must be a whole number")
    assert api.get("/_emulator/keys/ui_credits").json()["rate_limit"] == 7
    watch.assert_clean()


def test_status_fault_and_reset_forms(page: Page, api: httpx.Client, watch: Watch) -> None:
    tid = new_tenant(api, "ui_faults")
    call = {"account_id": "acc_ui_faults", "action": "recommendations"}
    assert api.post("/v2/network", json=call, headers={"x-api-key": "ui_faults"}).is_success
    page.goto(f"{UI}/tenants/{tid}")
    page.get_by_role("button", name="Deactivate acc_ui_faults").click()
    expect(page.get_by_role("status")).to_have_text("Account status changed.")
    account = api.get("/_emulator/keys/ui_faults").json()["accounts"][0]
    assert account["status"] == "inactive"
    page.get_by_role("button", name="Activate acc_ui_faults").click()
    assert api.get("/_emulator/keys/ui_faults").json()["accounts"][0]["status"] == "active"

    page.get_by_label("Error").select_option("INSUFFICIENT_CREDITS")
    page.get_by_label("Times").fill("2")
    page.get_by_role("button", name="Add rule").click()
    expect(page.get_by_role("status")).to_have_text("Fault rule added.")
    (rule,) = api.get("/_emulator/faults", params={"api_key": "ui_faults"}).json()["items"]
    assert (rule["error"], rule["times"], rule["match"]) == (
        "INSUFFICIENT_CREDITS",
        2,
        {"api_key": "*****ults", "account_id": None, "action": None},  # masked, as everywhere
    )
    page.get_by_role("button", name=f"Remove rule {rule['id']}").click()
    expect(page.get_by_role("status")).to_have_text("Fault rule removed.")
    assert api.get("/_emulator/faults", params={"api_key": "ui_faults"}).json()["items"] == []

    assert api.get("/_emulator/keys/ui_faults").json()["credits"]["consumed"] == 1
    page.get_by_role("button", name="Reset this tenant").click()
    expect(page.get_by_role("status")).to_contain_text("Tenant reset")
    assert api.get("/_emulator/keys/ui_faults").json()["credits"] == {
        "balance": 100,
        "consumed": 0,
    }
    watch.assert_clean()


def test_clock_forms(page: Page, api: httpx.Client, watch: Watch) -> None:
    before = api.get("/_emulator/clock").json()
    assert before["frozen"] is True
    page.goto(f"{UI}/clock")
    page.get_by_label("Advance every tenant's time by").fill("2")
    page.get_by_label("Unit").select_option("days")
    page.get_by_role("button", name="Advance").click()
    expect(page.get_by_role("status")).to_have_text("Clock moved.")
    after = api.get("/_emulator/clock").json()
    assert parse_instant(after["now"]) - parse_instant(before["now"]) == 2 * 86400  # frozen
    page.get_by_role("button", name="Let it run").click()
    assert api.get("/_emulator/clock").json()["frozen"] is False
    page.get_by_role("button", name="Freeze the clock").click()
    assert api.get("/_emulator/clock").json()["frozen"] is True
    page.get_by_label("Move to the instant").fill("2026-01-01T00:00:00Z")  # the past: refused
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Set", exact=True).click()
    assert answer.value.status == 400
    expect(page.get_by_role("alert")).to_contain_text("time only moves forward")

    tid = new_tenant(api, "ui_clock")
    page.goto(f"{UI}/tenants/{tid}")
    page.get_by_label("Advance this tenant's time by").fill("90")
    page.get_by_role("button", name="Advance").click()
    expect(page.get_by_role("status")).to_have_text("Clock moved.")
    tenant = api.get("/_emulator/clock", params={"api_key": "ui_clock"}).json()
    assert tenant["offset_s"] == 90
    watch.assert_clean()


def test_create_a_tenant_form(page: Page, api: httpx.Client, watch: Watch) -> None:
    page.goto(UI)
    page.get_by_label("API key").fill("ui_created_key")
    page.get_by_label("Credits", exact=True).fill("250")
    page.get_by_label("Rate limit (requests per minute)").fill("0")
    page.get_by_label("Account ids").fill("acc_ui_one, acc_ui_two")
    page.get_by_label("Country of the accounts").select_option("FR")
    page.get_by_role("button", name="Create tenant").click()
    expect(page.get_by_role("status")).to_have_text("Tenant created.")
    expect(page).to_have_url(re.compile(tenant_id("ui_created_key")))
    assert "ui_created_key" not in page.url
    label = "**********_key#" + tenant_id("ui_created_key")[:6]  # the metrics' label
    expect(page.locator("h1")).to_have_text(f"Tenant {label}")
    report = api.get("/_emulator/keys/ui_created_key").json()
    assert report["credits"]["balance"] == 250
    assert report["rate_limit"] == 0
    assert [(a["account_id"], a["country"]) for a in report["accounts"]] == [
        ("acc_ui_one", "FR"),
        ("acc_ui_two", "FR"),
    ]
    page.goto(UI)
    page.get_by_label("API key").fill("ui_created_key")  # taken: 409, the form kept
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Create tenant").click()
    assert answer.value.status == 409
    expect(page.get_by_label("API key")).to_have_value("ui_created_key")
    watch.assert_clean()


def test_invitation_forms(page: Page, api: httpx.Client, watch: Watch) -> None:
    new_tenant(api, "ui_net")
    network = "/_emulator/accounts/acc_ui_net/network"
    before = api.get(network).json()
    page.goto(f"{UI}/accounts/acc_ui_net")
    page.get_by_label("From (a LinkedIn profile URL)").fill(
        "https://www.linkedin.com/in/jane-doe-42"
    )
    page.get_by_role("button", name="Make it arrive").click()
    expect(page.get_by_role("status")).to_contain_text("An invitation arrived")
    after = api.get(network).json()
    assert after["counts"]["pending_received"] == before["counts"]["pending_received"] + 1
    assert after["received"][0]["member"]["name"] == "Jane Doe"
    expect(page.get_by_role("region", name="Received invitations table")).to_contain_text(
        "Jane Doe"
    )

    first = before["sent"][0]
    name = first["member"]["name"]
    page.get_by_role("button", name=f"Accept {name}'s invitation").click()
    expect(page.get_by_role("status")).to_have_text("The member answered the invitation.")
    answered = api.get(network).json()
    assert first["invitation_id"] not in [s["invitation_id"] for s in answered["sent"]]
    assert answered["counts"]["connections"] == before["counts"]["connections"] + 1
    second = answered["sent"][0]
    page.get_by_role("button", name=f"Decline {second['member']['name']}'s invitation").click()
    expect(page.get_by_role("status")).to_have_text("The member answered the invitation.")
    declined = api.get(network).json()
    assert declined["counts"]["pending_sent"] == before["counts"]["pending_sent"] - 2
    assert declined["counts"]["connections"] == answered["counts"]["connections"]
    watch.assert_clean()


# -- the journal's live tail ---------------------------------------------------------------------


def test_the_journal_shows_a_call_made_elsewhere_without_a_reload(
    page: Page, api: httpx.Client, watch: Watch
) -> None:
    tid = new_tenant(api, "ui_live")
    page.goto(f"{UI}/journal?tenant={tid}")
    expect(page.get_by_role("status")).to_contain_text("Live")
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    body = {"account_id": "acc_ui_live", "action": "recommendations", "params": {"count": 3}}
    started = time.monotonic()
    assert api.post("/v2/network", json=body, headers={"x-api-key": "ui_live"}).is_success
    row = page.locator("#journal-rows tr", has_text="acc_ui_live")
    expect(row).to_have_count(1, timeout=5000)
    print(f"live tail: the row arrived {time.monotonic() - started:.2f} s after the call")
    expect(row).to_contain_text("recommendations")
    expect(row).to_contain_text("POST /v2/network")
    assert navigations == []  # no reload
    watch.assert_clean()


def test_reset_everything_form(page: Page, api: httpx.Client, watch: Watch) -> None:
    """Last: it puts the whole emulator back to its fixtures."""
    new_tenant(api, "ui_reset_all")
    api.patch("/_emulator/keys/demo_key", json={"credits": 3})
    page.goto(UI)
    page.get_by_role("button", name="Reset everything").click()
    expect(page.get_by_role("status")).to_have_text("Everything reset to the fixtures.")
    assert api.get("/_emulator/keys/ui_reset_all").status_code == 404
    assert api.get("/_emulator/keys/demo_key").json()["credits"]["balance"] == 1000
    watch.assert_clean()


def test_report_axe_results() -> None:
    """Prints what axe found per page (the report quotes it); the page tests assert on it."""
    for name, violations in sorted(AXE_RESULTS.items()):
        print(f"axe {name}: {len(violations)} violations")
