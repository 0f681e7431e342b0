"""A stateful property test over random sequences of network actions and clock moves: after
every step the graph's invariants hold, whatever came before (SPEC 1.7)."""

from __future__ import annotations

from typing import Any

import hypothesis
from fastapi.testclient import TestClient
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from linkup_emulator.main import create_app
from linkup_emulator.network.invitations import DAY, HOUR
from linkup_emulator.settings import Settings

KEY, ACCOUNT = "prop_key", "acc_prop"
CREDITS = 1_000_000
TENANT = {
    "api_key": KEY,
    "credits": CREDITS,
    "rate_limit": 0,
    "accounts": [
        {
            "account_id": ACCOUNT,
            "pool_size": 12,
            "connections": 4,
            "pending_received": 3,
            "pending_sent": 3,
            "acceptance_rate": 0.5,
            "weekly_invitation_limit": 6,
        }
    ],
}
STRANGERS = [f"https://www.linkedin.com/in/{v}" for v in ("ada-lovelace", "alan-turing-7", "x9z")]
MOVES = [60.0, HOUR, DAY, 7 * DAY, 30 * DAY, 200 * DAY]
STEPS = {"count": 0}

app = create_app(Settings(seed="property", log_level="critical", clock="2026-04-26T10:35:00Z"))
client = TestClient(app)
client.__enter__()  # one app for the module; each example resets the tenant
assert client.post("/_emulator/keys", json=TENANT).status_code == 201


def vanity(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[1]


class Network(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        assert client.post("/_emulator/reset", params={"api_key": KEY}).status_code == 200
        self.spent = 0
        self.candidates: list[str] = list(STRANGERS)

    def call(self, action: str, **params: Any) -> dict[str, Any]:
        body = {"account_id": ACCOUNT, "action": action, "params": params}
        response = client.post("/v2/network", json=body, headers={"x-api-key": KEY})
        answer: dict[str, Any] = response.json()
        assert response.status_code in (200, 400, 429), response.text
        if response.status_code == 200:
            self.spent += answer["metadata"]["credits_consumed"]
        else:
            assert answer["metadata"]["credits_consumed"] == 0
        return answer

    def lists(self) -> dict[str, list[dict[str, Any]]]:
        return {
            "connections": self.call("list_connections", count=1000)["data"]["connections"],
            "sent": self.call("list_sent", count=1000)["data"]["invitations"],
            "received": self.call("list_invitations", count=1000)["data"]["invitations"],
        }

    @initialize()
    def meet(self) -> None:
        """Everyone the account starts with is a member the rules may name."""
        found = self.lists()
        self.candidates += [c["profile_url"].rstrip("/") for c in found["connections"]]
        self.candidates += [s["recipient"]["linkedin_url"] for s in found["sent"]]
        self.candidates += [r["sender"]["linkedin_url"] for r in found["received"]]
        pymk = self.call("recommendations", count=1000)["data"]["recommendations"]
        self.candidates += [p["profile_url"] for p in pymk]

    @rule(pick=st.integers(min_value=0))
    def invite(self, pick: int) -> None:
        self.call("invite", profile_url=self.candidates[pick % len(self.candidates)])

    @rule(pick=st.integers(min_value=0), accept=st.booleans())
    def answer(self, pick: int, accept: bool) -> None:
        received = self.lists()["received"]
        if received:
            chosen = received[pick % len(received)]
            answer = self.call(
                "accept" if accept else "decline",
                entity_urn=chosen["entity_urn"],
                shared_secret=chosen["shared_secret"],
            )
            assert answer["success"], answer

    @rule(pick=st.integers(min_value=0))
    def withdraw(self, pick: int) -> None:
        sent = self.lists()["sent"]
        if sent:
            answer = self.call("withdraw", invitation_id=sent[pick % len(sent)]["entity_urn"])
            assert answer["success"], answer

    @rule(pick=st.integers(min_value=0), accept=st.booleans())
    def member_answers(self, pick: int, accept: bool) -> None:
        sent = self.lists()["sent"]
        if sent:
            invitation_id = sent[pick % len(sent)]["entity_urn"].rsplit(":", 1)[1]
            path = f"/_emulator/accounts/{ACCOUNT}/invitations/{invitation_id}/respond"
            response = client.post(path, json={"response": "accept" if accept else "decline"})
            assert response.status_code == 200, response.text

    @rule(pick=st.integers(min_value=0), generated=st.booleans())
    def arrives(self, pick: int, generated: bool) -> None:
        body = {} if generated else {"profile_url": STRANGERS[pick % len(STRANGERS)]}
        response = client.post(f"/_emulator/accounts/{ACCOUNT}/invitations", json=body)
        assert response.status_code in (201, 409), response.text
        if response.status_code == 201:
            self.candidates.append(response.json()["sender"]["profile_url"])

    @rule(seconds=st.sampled_from(MOVES))
    def time_passes(self, seconds: float) -> None:
        moved = client.post(
            "/_emulator/clock", params={"api_key": KEY}, json={"advance_s": seconds}
        )
        assert moved.status_code == 200, moved.text

    @invariant()
    def one_place_each_and_lists_agree(self) -> None:
        STEPS["count"] += 1
        found = self.lists()
        places = {
            "connections": {vanity(c["profile_url"]) for c in found["connections"]},
            "sent": {vanity(s["recipient"]["linkedin_url"]) for s in found["sent"]},
            "received": {vanity(r["sender"]["linkedin_url"]) for r in found["received"]},
        }
        pymk = self.call("recommendations", count=1000)["data"]
        places["pymk"] = {vanity(p["profile_url"]) for p in pymk["recommendations"]}
        seen: dict[str, str] = {}
        for place, members in places.items():
            for member in members:
                assert member not in seen, (member, seen.get(member), place)
                seen[member] = place
        for name, key in (("connections", "list_connections"), ("sent", "list_sent")):
            total = self.call(key, count=1)["data"]["total_available_results"]
            assert total == len(found[name]) == len(places[name]), name
        total = self.call("list_invitations", count=1)["data"]["total_available_results"]
        assert total == len(found["received"]) == len(places["received"])
        assert pymk["total_results"] == len(pymk["recommendations"]) == len(places["pymk"])
        expected: dict[str, tuple[str, str | None]] = {
            "connections": ("ACCEPTED", "CONNECTED"),
            "sent": ("PENDING", "SENT"),
            "received": ("PENDING", "RECEIVED"),
        }
        for url in self.candidates:
            data = self.call("check_invitation", profile_url=url)["data"]
            where = seen.get(vanity(url), "")
            want = expected.get(where, ("NO_INVITATION", None))
            assert (data["invitation_state"], data["invitation_type"]) == want, (url, where)
        balance = client.get("/v2/credits", headers={"x-api-key": KEY}).json()["data"]["credits"]
        assert balance == CREDITS - self.spent


TestNetwork = Network.TestCase
TestNetwork.settings = hypothesis.settings(
    max_examples=8,
    stateful_step_count=12,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(hypothesis.HealthCheck),
)


def test_the_machine_ran_its_steps() -> None:
    """Run after TestNetwork in this module's order: the invariants were checked many times."""
    assert STEPS["count"] >= 80, STEPS
