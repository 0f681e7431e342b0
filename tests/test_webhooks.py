"""Webhooks (SPEC 1.8): the routes, signed deliveries to a real receiver on 127.0.0.1, retries,
hosted events polled, retention, monitoring charges. Events go in through the pipeline's own
entry point (webhooks/events.py), as the graph's sweep puts them in."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from typing import Any

import pytest

from linkup_emulator.inprocess import InProcessClient
from linkup_emulator.main import create_app
from linkup_emulator.network.graph import GraphEvent
from linkup_emulator.pytest_plugin import Receiver
from linkup_emulator.settings import Settings
from linkup_emulator.webhooks.signing import sign, verify

START = "2026-04-26T10:35:00Z"
JANE: dict[str, object] = {
    "name": "Jane Doe",
    "first_name": "Jane",
    "last_name": "Doe",
    "headline": "CTO @ Acme",
    "profile_url": "https://www.linkedin.com/in/jane-doe-42/",
    "profile_picture": None,
}
_numbers = itertools.count()
QUIET = {"pending_sent": 0, "pending_received": 0}


@pytest.fixture(scope="module")
def app_client() -> Iterator[InProcessClient]:
    settings = Settings(
        seed="hooks",
        log_level="warning",
        rate_limit=0,
        clock=START,
        webhook_hosts=["127.0.0.1"],
        webhook_retry_base_s=0.05,
        webhook_sweep_s=0.2,
    )
    with InProcessClient(create_app(settings), base_url="http://emulator", timeout=30) as client:
        yield client


class Hooks:
    """One fresh tenant (key and account) on the module's emulator."""

    def __init__(self, client: InProcessClient, credits: int | None = 1000, **network: Any) -> None:
        n = next(_numbers)
        self.client, self.key, self.account = client, f"wh_key_{n}", f"acc_wh_{n}"
        # No generated invitation to be accepted by its fate as a test moves the clock, unless
        # the test asks for one: each event a test sees is one it made.
        account = {"account_id": self.account, **QUIET, **network}
        spec = {"api_key": self.key, "credits": credits, "accounts": [account]}
        assert client.post("/_emulator/keys", json=spec).status_code == 201
        self.headers = {"x-api-key": self.key}

    def call(self, method: str, path: str, **options: Any) -> Any:
        response = self.client.request(method, path, headers=self.headers, **options)
        return response.status_code, response.json()

    def create(self, **body: Any) -> dict[str, Any]:
        status, answer = self.call(
            "POST", "/v2/webhooks", json={"account_id": self.account, **body}
        )
        assert status == 200, answer
        assert answer["metadata"]["action"] == "create_webhook"
        data: dict[str, Any] = answer["data"]
        return data

    def emit(self, kind: str = "accepted_invitation", key: str = "e1", **extra: Any) -> int:
        """An event of the account's graph, as the sweep hands it over, at the tenant's now."""
        service = self.client.app.state.webhooks
        store = service.store

        async def go() -> int:
            account = await store.account(self.account)
            now = await service.emulator.now(self.key)
            event = GraphEvent(kind, extra.get("at", now), key, (JANE,))
            return len(await service.pipeline.emit(account, [event], now))

        added: int = self.client.run(go())
        return added

    def advance(self, seconds: float) -> None:
        moved = self.client.post(
            f"/_emulator/clock?api_key={self.key}", json={"advance_s": seconds}
        )
        assert moved.status_code == 200

    def credits(self) -> int:
        _status, answer = self.call("GET", "/v2/credits")
        credits: int = answer["data"]["credits"]
        return credits

    def attempts(self) -> list[tuple[int, str | None]]:
        rows = self.client.get("/_emulator/requests", params={"api_key": self.key}).json()["items"]
        return [
            (r["status"], r["code"]) for r in reversed(rows) if r["action"] == "webhook_delivery"
        ]


@pytest.fixture
def hooks(app_client: InProcessClient) -> Hooks:
    return Hooks(app_client)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


def wait_for(check: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
    return value


# -- custom mode: signed deliveries -------------------------------------------------------------


def test_a_receiver_gets_each_event_once_signed_as_the_vendor_signs(
    hooks: Hooks, receiver: Receiver
) -> None:
    made = hooks.create(url=receiver.url, events="accepted_invitation", enable_signature=True)
    assert len(made["webhook_id"]) == 24
    assert int(made["webhook_id"], 16) >= 0
    assert (made["mode"], made["events"], made["is_active"]) == (
        "custom",
        ["accepted_invitation"],
        True,
    )
    assert made["signature_scheme"] == "v1"
    assert len(made["secret"]) == 64
    receiver.secret = made["secret"]
    assert hooks.emit(key="acc-1") == 1
    assert hooks.emit(key="acc-1") == 0  # the same event again: kept once, sent once
    assert hooks.emit("invitation_received", key="inv-1") == 0  # not subscribed
    [event] = receiver.wait(1)
    assert event == {
        "account_id": hooks.account,
        "account_name": hooks.account,
        "event": {"type": "accepted_invitation", "new_connections": [JANE]},
        "timestamp": START,
    }
    delivery = receiver.deliveries[0]
    assert delivery.verified is True
    assert delivery.headers["content-type"] == "application/json"
    stamp = delivery.headers["x-linkup-timestamp"]
    assert abs(int(stamp) - time.time()) < 60  # real seconds, for the receiver's skew check
    assert delivery.headers["x-linkup-signature"] == sign(made["secret"], stamp, delivery.body)
    assert verify(made["secret"], stamp, delivery.body, delivery.headers["x-linkup-signature"])
    assert wait_for(lambda: hooks.attempts()) == [(200, None)]
    time.sleep(0.3)  # nothing more arrives
    assert len(receiver.deliveries) == 1
    listed = hooks.call("GET", "/v2/webhooks")[1]
    assert listed["metadata"]["action"] == "list_webhooks"
    assert [w["signature_enabled"] for w in listed["data"]["items"]] == [True]
    assert "secret" not in listed["data"]["items"][0]


def test_a_receiver_failing_twice_gets_the_event_on_the_third_attempt(
    hooks: Hooks, receiver: Receiver
) -> None:
    hooks.create(url=receiver.url, retry=True)
    receiver.fail(2)
    hooks.emit(key="acc-retry")
    receiver.wait(1)
    assert [d.status for d in receiver.deliveries] == [500, 500, 200]
    assert len({d.body for d in receiver.deliveries}) == 1
    assert wait_for(lambda: len(hooks.attempts()) == 3 and hooks.attempts()) == [
        (500, None), (500, None), (200, None)
    ]  # fmt: skip


def test_without_retry_a_failed_delivery_is_given_up(hooks: Hooks, receiver: Receiver) -> None:
    hooks.create(url=receiver.url)
    receiver.fail(1)
    hooks.emit(key="acc-once")
    wait_for(lambda: receiver.deliveries)
    time.sleep(0.3)
    assert [d.status for d in receiver.deliveries] == [500]
    assert receiver.deliveries[0].verified is None  # unsigned: no signature header
    assert "x-linkup-signature" not in receiver.deliveries[0].headers


def test_a_dead_receiver_is_retried_then_given_up(hooks: Hooks) -> None:
    dead = Receiver()
    url = dead.url
    dead.close()  # nothing listens there any more
    hooks.create(url=url, retry=True)
    hooks.emit(key="acc-dead")
    attempts = wait_for(lambda: len(hooks.attempts()) == 6 and hooks.attempts(), timeout=15)
    assert attempts == [(0, "CONNECTION_ERROR")] * 6  # the first try and five retries


def test_rotating_the_secret_changes_the_signature(hooks: Hooks, receiver: Receiver) -> None:
    made = hooks.create(url=receiver.url, enable_signature=True)
    status, rotated = hooks.call("POST", f"/v2/webhooks/{made['webhook_id']}/rotate-secret")
    assert status == 200
    assert rotated["metadata"]["action"] == "rotate_webhook_secret"
    assert rotated["data"]["webhook_id"] == made["webhook_id"]
    new = rotated["data"]["secret"]
    assert new != made["secret"]
    assert rotated["data"]["signature_scheme"] == "v1"
    receiver.secret = new
    hooks.emit(key="acc-rotated")
    receiver.wait(1)
    delivery = receiver.deliveries[0]
    stamp = delivery.headers["x-linkup-timestamp"]
    assert delivery.verified is True
    assert not verify(made["secret"], stamp, delivery.body, delivery.headers["x-linkup-signature"])
    # Without a secret, deliveries go unsigned.
    status, dropped = hooks.call("DELETE", f"/v2/webhooks/{made['webhook_id']}/secret")
    assert (status, dropped["data"]) == (
        200,
        {"webhook_id": made["webhook_id"], "signature_enabled": False},
    )
    assert dropped["metadata"]["action"] == "delete_webhook_secret"
    receiver.secret = None
    hooks.emit(key="acc-unsigned")
    receiver.wait(2)
    assert "x-linkup-signature" not in receiver.deliveries[1].headers


def test_a_disallowed_host_is_refused_before_any_connection(hooks: Hooks) -> None:
    """EMULATOR_WEBHOOK_HOSTS here is 127.0.0.1 alone: localhost, though it is this very
    receiver, is refused, literally, and the receiver never sees a connection."""
    receiver = Receiver()
    try:
        url = receiver.url.replace("127.0.0.1", "localhost")
        for bad in (url, "https://example.com/hook"):
            status, answer = hooks.call(
                "POST", "/v2/webhooks", json={"account_id": hooks.account, "url": bad}
            )
            assert status == 400
            assert answer["error"]["code"] == "INVALID_PARAMS"
            assert "EMULATOR_WEBHOOK_HOSTS" in answer["error"]["message"]
            assert answer["metadata"] == {
                "action": "create_webhook",
                "credits_consumed": 0,
                "timestamp": START,
            }
        hooks.emit(key="acc-nowhere")
        time.sleep(0.2)
        assert (receiver.connections, receiver.deliveries) == (0, [])
        assert hooks.call("GET", "/v2/webhooks")[1]["data"] == {"items": [], "total": 0}
    finally:
        receiver.close()


# -- the routes -------------------------------------------------------------------------------


def test_update_stop_start_and_delete(hooks: Hooks, receiver: Receiver) -> None:
    made = hooks.create()
    path = f"/v2/webhooks/{made['webhook_id']}"
    assert made["mode"] == "hosted"
    assert made["events"] == ["all"]
    assert "secret" not in made
    status, changed = hooks.call(
        "PUT", path, json={"url": receiver.url, "events": ["invitation_received"], "retry": True}
    )
    assert status == 200
    assert changed["metadata"]["action"] == "update_webhook"
    assert changed["metadata"]["account_id"] == hooks.account
    assert (changed["data"]["mode"], changed["data"]["events"], changed["data"]["retry"]) == (
        "custom", ["invitation_received"], True
    )  # fmt: skip
    status, stopped = hooks.call("POST", path + "/stop")
    assert (status, stopped["data"]["is_active"], stopped["metadata"]["action"]) == (
        200,
        False,
        "stop_webhook",
    )
    assert (
        hooks.emit("invitation_received", key="inv-stopped") == 0
    )  # a stopped webhook gets nothing
    status, started = hooks.call("POST", path + "/start")
    assert (status, started["data"]["is_active"], started["metadata"]["action"]) == (
        200,
        True,
        "start_webhook",
    )
    assert hooks.emit("invitation_received", key="inv-started") == 1
    [event] = receiver.wait(1)
    assert event["event"] == {"type": "invitation_received", "new_invitations": [JANE]}
    status, gone = hooks.call("DELETE", path)
    assert (status, gone["data"], gone["metadata"]["action"]) == (
        200, {"deleted": True, "webhook_id": made["webhook_id"]}, "delete_webhook"
    )  # fmt: skip
    status, missing = hooks.call("DELETE", path)
    assert (status, missing["error"]["code"], missing["metadata"]["action"]) == (
        404,
        "NOT_FOUND",
        "delete_webhook",
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"events": []}, "events must be a non-empty array"),
        ({"events": ["message"]}, "'message' is not an event type"),
        ({"events": [1]}, "events must be"),
        ({"url": 5}, "url must be a non-empty string"),
        ({"url": "ftp://127.0.0.1/x"}, "http:// or https://"),
        ({"url": "http://127.0.0.1:99999/x"}, "not a valid URL"),
        ({"url": "http://127.0.0.1/" + "x" * 2048}, "longer than 2048"),
        ({"retry": "yes", "url": "http://127.0.0.1/x"}, "retry must be true or false"),
        ({"enable_signature": True}, "apply to webhooks with a url"),
        ({"total": 1}, "total is not a field of POST /v2/webhooks"),
    ],
    ids=lambda v: str(v)[:40],
)
def test_bad_create_bodies_are_refused_naming_the_field(
    hooks: Hooks, body: dict[str, Any], message: str
) -> None:
    status, answer = hooks.call("POST", "/v2/webhooks", json={"account_id": hooks.account, **body})
    assert (status, answer["error"]["code"]) == (400, "INVALID_PARAMS")
    assert message in answer["error"]["message"]


def test_the_check_order_of_a_create(hooks: Hooks, app_client: InProcessClient) -> None:
    no_key = app_client.post("/v2/webhooks", json={"account_id": hooks.account})
    assert (no_key.status_code, no_key.json()["error"]["code"]) == (403, "INVALID_API_KEY")
    assert no_key.json()["metadata"]["action"] == "create_webhook"
    for body, expected in [
        (b"[]", (400, "INVALID_PARAMS")),
        (b'{"url": "x"}', (400, "INVALID_PARAMS")),
        (b'{"account_id": "acc_demo"}', (404, "INVALID_ACCOUNT")),
    ]:
        status, answer = hooks.call("POST", "/v2/webhooks", content=body)
        assert (status, answer["error"]["code"]) == expected
    assert hooks.call("POST", "/v2/webhooks?x=1", json={"account_id": hooks.account})[0] == 400
    app_client.patch(f"/_emulator/accounts/{hooks.account}", json={"status": "inactive"})
    status, answer = hooks.call("POST", "/v2/webhooks", json={"account_id": hooks.account})
    assert (status, answer["error"]["code"]) == (403, "ACCOUNT_INACTIVE")


def test_another_keys_webhook_is_not_found(hooks: Hooks, app_client: InProcessClient) -> None:
    made = hooks.create()
    other = Hooks(app_client)
    for method, suffix, action in [
        ("PUT", "", "update_webhook"),
        ("POST", "/start", "start_webhook"),
        ("POST", "/stop", "stop_webhook"),
        ("POST", "/rotate-secret", "rotate_webhook_secret"),
        ("DELETE", "/secret", "delete_webhook_secret"),
        ("GET", "/events", "poll_webhook_events"),
    ]:
        options: dict[str, Any] = {"json": {}} if method == "PUT" else {}
        status, answer = other.call(method, f"/v2/webhooks/{made['webhook_id']}{suffix}", **options)
        assert (status, answer["error"]["code"], answer["metadata"]["action"]) == (
            404,
            "NOT_FOUND",
            action,
        )
    assert other.call("GET", "/v2/webhooks")[1]["data"]["total"] == 0


def test_hosted_webhooks_take_no_secret_and_custom_ones_no_polling(
    hooks: Hooks, receiver: Receiver
) -> None:
    hosted, custom = hooks.create(), hooks.create(url=receiver.url)
    assert hosted["webhook_id"] != custom["webhook_id"]
    status, answer = hooks.call("POST", f"/v2/webhooks/{hosted['webhook_id']}/rotate-secret")
    assert (status, answer["error"]["code"]) == (400, "INVALID_PARAMS")
    status, answer = hooks.call("GET", f"/v2/webhooks/{custom['webhook_id']}/events")
    assert (status, answer["error"]["code"]) == (400, "INVALID_PARAMS")
    status, answer = hooks.call("PUT", f"/v2/webhooks/{hosted['webhook_id']}", json={"retry": True})
    assert (status, answer["error"]["code"]) == (400, "INVALID_PARAMS")
    listed = hooks.call("GET", f"/v2/webhooks?account_id={hooks.account}")[1]["data"]
    assert [w["webhook_id"] for w in listed["items"]] == [
        hosted["webhook_id"],
        custom["webhook_id"],
    ]


# -- hosted mode ------------------------------------------------------------------------------


def test_hosted_events_are_polled_in_order_then_gone_after_24_emulated_hours(hooks: Hooks) -> None:
    made = hooks.create(events=["accepted_invitation", "invitation_received"])
    path = f"/v2/webhooks/{made['webhook_id']}/events"
    hooks.emit(key="a")
    hooks.advance(3600)
    hooks.emit("invitation_received", key="b")
    status, polled = hooks.call("GET", path)
    assert status == 200
    assert polled["metadata"]["action"] == "poll_webhook_events"
    items = polled["data"]["items"]
    assert [i["event"]["event"]["type"] for i in items] == [
        "accepted_invitation",
        "invitation_received",
    ]
    assert items[0]["created_at"] == "2026-04-26T10:35:00.000Z"
    assert polled["data"]["has_more"] is False
    first = items[0]["event_id"]
    assert [
        i["event_id"] for i in hooks.call("GET", path + f"?after={first}")[1]["data"]["items"]
    ] == [items[1]["event_id"]]
    assert len(hooks.call("GET", path + "?count=1")[1]["data"]["items"]) == 1
    assert hooks.call("GET", path + "?limit=1")[1]["data"]["has_more"] is True
    assert len(hooks.call("GET", path + "?since=2026-04-26T11:00:00Z")[1]["data"]["items"]) == 1
    assert len(hooks.call("GET", path + "?until=2026-04-26T11:00:00Z")[1]["data"]["items"]) == 1
    for bad in ("limit=0", "limit=201", "count=0", "page=2"):
        status, answer = hooks.call("GET", path + "?" + bad)
        assert (status, answer["error"]["code"]) == (400, "INVALID_PARAMS"), bad
    # Lenient where a poller would otherwise stall: an id no longer kept reads from the start,
    # both sizes take the smaller, a time that is no date compares as text.
    assert len(hooks.call("GET", path + "?after=gone")[1]["data"]["items"]) == 2
    assert len(hooks.call("GET", path + "?limit=5&count=1")[1]["data"]["items"]) == 1
    assert hooks.call("GET", path + "?since=soon")[1]["data"]["items"] == []
    hooks.advance(23 * 3600 + 1)  # the first is now 24 h and 1 s old, the second 23 h
    left = hooks.call("GET", path)[1]["data"]["items"]
    assert [i["event_id"] for i in left] == [items[1]["event_id"]]
    hooks.advance(3600)
    assert hooks.call("GET", path)[1]["data"]["items"] == []


# -- monitoring ---------------------------------------------------------------------------------


def test_monitoring_costs_10_credits_a_whole_emulated_day_while_a_webhook_is_active(
    hooks: Hooks,
) -> None:
    made = hooks.create()
    assert hooks.credits() == 1000  # creating is free
    hooks.advance(86400 * 3 - 1)
    assert hooks.credits() == 980  # two whole days so far
    hooks.advance(1)
    assert hooks.credits() == 970
    hooks.call("POST", f"/v2/webhooks/{made['webhook_id']}/stop")
    hooks.advance(86400 * 5)
    assert hooks.credits() == 970  # stopped: no monitoring
    hooks.call("POST", f"/v2/webhooks/{made['webhook_id']}/start")
    hooks.create()  # a second webhook on the account: billed per account, not per webhook
    hooks.advance(86400)
    assert hooks.credits() == 960
    usage = hooks.client.get(f"/_emulator/keys/{hooks.key}").json()
    assert usage["credits"]["consumed"] == 40


def test_monitoring_never_takes_a_balance_below_zero(app_client: InProcessClient) -> None:
    poor = Hooks(app_client, credits=15)
    poor.create()
    poor.advance(86400 * 2)
    assert poor.credits() == 0


def test_a_reset_takes_the_tenants_webhooks(hooks: Hooks) -> None:
    hooks.create()
    assert app_reset(hooks) == 200
    assert hooks.call("GET", "/v2/webhooks")[1]["data"]["total"] == 0


def app_reset(hooks: Hooks) -> int:
    return hooks.client.post(f"/_emulator/reset?api_key={hooks.key}").status_code


# -- events from the graph, end to end ------------------------------------------------------------


def test_an_invitation_accepted_by_its_fate_reaches_the_receiver_once(
    app_client: InProcessClient, receiver: Receiver
) -> None:
    """invite, move the clock past the fate (every invitation accepted within 7 days here):
    the receiver gets accepted_invitation for that member, once, however often it sweeps."""
    hooks = Hooks(app_client, acceptance_rate=1.0)
    made = hooks.create(url=receiver.url, events=["accepted_invitation"], enable_signature=True)
    receiver.secret = made["secret"]
    body = {
        "account_id": hooks.account,
        "action": "invite",
        "params": {"identifier": "jane-doe-42"},
    }
    status, invited = hooks.call("POST", "/v2/network", json=body)
    assert status == 200, invited
    assert receiver.deliveries == []  # pending: nothing yet
    hooks.advance(7 * 86400 + 1)
    [event] = receiver.wait(1)
    assert event["event"]["type"] == "accepted_invitation"
    [person] = event["event"]["new_connections"]
    assert person["profile_url"] == "https://www.linkedin.com/in/jane-doe-42/"
    assert (person["first_name"], person["last_name"], person["name"]) == (
        "Jane",
        "Doe",
        "Jane Doe",
    )
    assert receiver.deliveries[0].verified is True
    hooks.advance(3600)  # more sweeps: the clock's, the periodic one
    time.sleep(0.5)
    assert len(receiver.deliveries) == 1


def test_control_plane_arrivals_and_answers_are_events(app_client: InProcessClient) -> None:
    hooks = Hooks(app_client, acceptance_rate=0.0)
    made = hooks.create()
    path = f"/v2/webhooks/{made['webhook_id']}/events"
    base = f"/_emulator/accounts/{hooks.account}"
    arrived = app_client.post(
        f"{base}/invitations", json={"profile_url": "https://www.linkedin.com/in/ann-lee"}
    )
    assert arrived.status_code == 201
    body = {"account_id": hooks.account, "action": "invite", "params": {"identifier": "bob-stone"}}
    invited = hooks.call("POST", "/v2/network", json=body)[1]["data"]
    invitation_id = invited["invitation_urn"].rsplit(":", 1)[1]
    answered = app_client.post(
        f"{base}/invitations/{invitation_id}/respond", json={"response": "accept"}
    )
    assert answered.status_code == 200
    items = hooks.call("GET", path)[1]["data"]["items"]
    kinds = [i["event"]["event"]["type"] for i in items]
    assert kinds == ["invitation_received", "accepted_invitation"]
    received = items[0]["event"]["event"]["new_invitations"][0]
    assert received["profile_url"] == "https://www.linkedin.com/in/ann-lee/"
    assert received["entity_urn"] == arrived.json()["entity_urn"]
    assert items[1]["event"]["event"]["new_connections"][0]["last_name"] == "Stone"
    hooks.advance(60)
    assert len(hooks.call("GET", path)[1]["data"]["items"]) == 2  # once each


# -- GET /v2/logs ---------------------------------------------------------------------------------


def test_logs_are_the_keys_own_calls_newest_first_filtered_and_paged(
    app_client: InProcessClient,
) -> None:
    hooks, other = Hooks(app_client), Hooks(app_client)
    recommend = {"account_id": hooks.account, "action": "recommendations", "params": {"count": 15}}
    assert hooks.call("POST", "/v2/network", json=recommend)[0] == 200
    assert hooks.call("POST", "/v2/network", json={**recommend, "account_id": "acc_nope"})[0] == 404
    hooks.advance(86400)
    assert hooks.call("GET", "/v2/credits")[0] == 200
    assert other.call("GET", "/v2/credits")[0] == 200  # another key's call: never in these logs
    status, logs = hooks.call("GET", "/v2/logs")
    assert status == 200
    assert logs["metadata"] == {
        "action": "list_logs",
        "credits_consumed": 0,
        "timestamp": "2026-04-27T10:35:00Z",
    }
    items = logs["data"]["items"]
    assert [(i["action"], i["status"], i["http_status"]) for i in items] == [
        ("get_credits", "success", 200),
        ("recommendations", "error", 404),
        ("recommendations", "success", 200),
    ]
    assert (logs["data"]["total"], logs["data"]["limit"], logs["data"]["offset"]) == (3, 50, 0)
    assert items[2] == {
        "log_id": items[2]["log_id"],
        "timestamp": START,
        "account_id": hooks.account,
        "category": "network",
        "action": "recommendations",
        "status": "success",
        "http_status": 200,
        "error_code": None,
        "credits_consumed": 2,
    }
    assert items[1]["error_code"] == "INVALID_ACCOUNT"
    assert items[1]["credits_consumed"] == 0
    assert items[0]["category"] == "credits"

    def ids(query: str) -> list[str]:
        status, answer = hooks.call("GET", "/v2/logs?" + query)
        assert status == 200, answer
        found = [i["action"] + ":" + i["status"] for i in answer["data"]["items"]]
        return [call for call in found if not call.startswith("list_logs")]  # these reads

    assert ids("status=error") == ["recommendations:error"]
    assert ids("status=success&action=recommendations") == ["recommendations:success"]
    assert ids(f"account_id={hooks.account}") == ["recommendations:success"]
    assert ids("date_from=2026-04-27") == ["get_credits:success"]
    assert ids("date_to=2026-04-26") == ["recommendations:error", "recommendations:success"]
    assert ids("date_from=2026-04-26T10:35:00Z&date_to=2026-04-26T10:35:00") == [
        "recommendations:error", "recommendations:success"
    ]  # fmt: skip
    assert ids("action=get_credits&limit=1&offset=0") == ["get_credits:success"]
    assert ids("action=recommendations&limit=1&offset=1") == ["recommendations:success"]
    assert ids("offset=99") == []
    assert hooks.call("GET", "/v2/logs?limit=200")[0] == 200
    other_logs = other.call("GET", "/v2/logs")[1]["data"]["items"]
    assert [i["action"] for i in other_logs] == ["get_credits"]


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=201", "limit=x", "offset=-1", "status=ok", "count=5"]
)
def test_logs_bounds(hooks: Hooks, query: str) -> None:
    status, answer = hooks.call("GET", "/v2/logs?" + query)
    assert (status, answer["error"]["code"]) == (400, "INVALID_PARAMS")
    assert answer["metadata"]["action"] == "list_logs"
    assert query.split("=")[0] in answer["error"]["message"] or "status" in query


def test_logs_leave_out_webhook_deliveries(hooks: Hooks, receiver: Receiver) -> None:
    hooks.create(url=receiver.url)
    hooks.emit(key="acc-logged")
    receiver.wait(1)
    wait_for(lambda: hooks.attempts())
    actions = [i["action"] for i in hooks.call("GET", "/v2/logs")[1]["data"]["items"]]
    assert actions == ["create_webhook"]
