"""Every operation of openapi.yaml, called through the generated client on its success and error
paths, each answer checked to parse into the model the contract names for its status.

`drive()` is the traffic: tests/contract/test_generated_client.py sends it to the emulator,
tests/contract/test_prism.py through Prism in front of it. Requests that break the contract on
purpose (a missing key, `count: 0`...) are sent inside `off_contract()`, so a validating proxy
is expected to flag them, and only them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from importlib import import_module
from types import ModuleType
from typing import Any

import httpx

from tests.support.tools import SPEC


@dataclass(frozen=True)
class Exchange:
    method: str
    path: str
    status: int
    violations: str | None  # Prism's sl-violations header, when it found any
    off_contract: bool
    prism_sees_it: bool = True  # off the contract in a way Prism checks


@dataclass
class Traffic:
    package: ModuleType
    base_url: str
    json_heads: bool = True  # HEAD of a GET that answers JSON (Prism cannot relay those)
    seen: list[Exchange] = field(default_factory=list)
    _off: bool = False
    _prism_sees_it: bool = True
    _clients: list[Any] = field(default_factory=list)

    def __enter__(self) -> Traffic:
        return self

    def __exit__(self, *_: object) -> None:
        for client in self._clients:
            client.get_httpx_client().close()

    @property
    def models(self) -> Any:
        return import_module(f"{self.package.__name__}.models")

    def api(self, tag: str, operation: str) -> Any:
        return import_module(f"{self.package.__name__}.api.{tag}.{operation}")

    def _record(self, response: httpx.Response) -> None:
        request = response.request
        self.seen.append(
            Exchange(
                request.method,
                request.url.raw_path.decode("ascii"),
                response.status_code,
                response.headers.get("sl-violations"),
                self._off,
                self._prism_sees_it,
            )
        )

    def client(self, token: str | None, *, admin: bool = False) -> Any:
        """A generated client sending `token` as x-api-key (None: no key at all), or, with
        `admin`, as the control plane's bearer token. An undocumented status raises."""
        options = {
            "raise_on_unexpected_status": True,
            "httpx_args": {"event_hooks": {"response": [self._record]}},
        }
        clients = import_module(f"{self.package.__name__}.client")
        if token is None:
            made = clients.Client(self.base_url, **options)
        elif admin:
            made = clients.AuthenticatedClient(self.base_url, token=token, **options)
        else:
            made = clients.AuthenticatedClient(
                self.base_url, token=token, prefix="", auth_header_name="x-api-key", **options
            )
        self._clients.append(made)  # closed when the traffic is
        return made

    @contextmanager
    def off_contract(self, *, prism_sees_it: bool = True) -> Iterator[None]:
        self._off, self._prism_sees_it = True, prism_sees_it
        try:
            yield
        finally:
            self._off, self._prism_sees_it = False, True


def expect(response: Any, status: int, model: type | None) -> Any:
    """The answer has this status and parsed into `model` (None: no body, as for HEAD)."""
    assert response.status_code == status, (response.status_code, response.content[:300])
    if model is None:
        assert response.content == b""
        assert response.parsed is None
    else:
        assert isinstance(response.parsed, model), (type(response.parsed), model)
    return response.parsed


def drive(t: Traffic) -> None:
    m, api = t.models, t.api
    key = f"gen_{uuid.uuid4().hex[:12]}"
    account = f"acc_{key}"
    control = t.client("not-checked-without-EMULATOR_ADMIN_TOKEN", admin=True)
    v2, unknown, keyless = t.client(key), t.client("not_a_key"), t.client(None)
    errors = m.ForcibleErrorCode

    # -- health
    health = api("emulator", "emulator_health")
    assert expect(health.sync_detailed(client=control), 200, m.Health).status == "ok"
    if t.json_heads:
        expect(api("emulator", "emulator_health_head").sync_detailed(client=control), 200, None)

    # -- a tenant of its own; created_at given with +02:00, as Python's isoformat() writes it
    create = api("emulator", "create_tenant")
    at = datetime(2026, 1, 1, 2, 0, tzinfo=timezone(timedelta(hours=2)))
    spec = m.TenantSpec(
        api_key=key,
        credits_=3,  # `credits` is a Python builtin: the generator adds `_`
        rate_limit=0,
        accounts=[
            m.AccountSpec(account_id=account, country=m.CountryCode.FR, pool_size=40, created_at=at)
        ],
    )
    report = expect(create.sync_detailed(client=control, body=spec), 201, m.TenantReport)
    assert (report.credits_.balance, report.accounts[0].account_id) == (3, account)
    expect(create.sync_detailed(client=control, body=spec), 409, m.ControlErrorConflict)
    with t.off_contract():
        oversized = m.TenantSpec(
            api_key=f"{key}_big",
            accounts=[m.AccountSpec(account_id=f"{account}_big", pool_size=10_001)],
        )
        expect(create.sync_detailed(client=control, body=oversized), 400, m.ControlErrorBadRequest)
    unmetered = m.TenantSpec(api_key=f"{key}_seat", credits_=None, display_credits=42)
    expect(create.sync_detailed(client=control, body=unmetered), 201, m.TenantReport)

    # -- POST /v2/network
    network = api("network", "network")

    def ask(client: Any = v2, account_id: str = account, count: int = 5, **headers: Any) -> Any:
        body = m.RecommendationsRequest(
            account_id=account_id,
            action="recommendations",
            params=m.RecommendationsParams(count=count),
        )
        return network.sync_detailed(client=client, body=body, **headers)

    found = expect(ask(), 200, m.NetworkRecommendationsSuccess)
    assert found.data.total_results == len(found.data.recommendations) == 5
    assert isinstance(found.data.recommendations[0], m.Recommendation)
    assert found.metadata.credits_consumed == 1
    with t.off_contract():
        bad = expect(ask(count=0), 400, m.ErrorBadRequest)
    assert bad.error.code == m.ErrorBadRequestErrorCode.INVALID_PARAMS
    assert expect(ask(account_id="acc_nope"), 404, m.ErrorInvalidAccount).error.code == (
        "INVALID_ACCOUNT"
    )
    refused = expect(ask(client=unknown), 403, m.ErrorForbidden)
    assert refused.error.code == m.ErrorForbiddenErrorCode.INVALID_API_KEY
    with t.off_contract():
        expect(ask(client=keyless), 403, m.ErrorForbidden)
    limited = ask(x_emulator_error=errors.RATE_LIMITED)
    expect(limited, 429, m.ErrorRateLimited)
    assert limited.headers["retry-after"] == "1"
    expect(ask(x_emulator_error=errors.INTERNAL_ERROR), 500, m.ErrorInternal)
    expect(ask(count=30), 402, m.ErrorInsufficientCredits)  # 2 credits left, 30 cost 3

    # -- GET /v2/credits: always an integer
    credits = api("accounts", "get_credits")
    assert expect(credits.sync_detailed(client=v2), 200, m.CreditsSuccess).data.credits_ == 2
    seat = credits.sync_detailed(client=t.client(f"{key}_seat"))
    assert expect(seat, 200, m.CreditsSuccess).data.credits_ == 42
    expect(credits.sync_detailed(client=unknown), 403, m.ErrorForbidden)
    forced = [
        (errors.INVALID_PARAMS, 400, m.ErrorBadRequest),
        (errors.INSUFFICIENT_CREDITS, 402, m.ErrorInsufficientCredits),
        (errors.INVALID_ACCOUNT, 404, m.ErrorInvalidAccount),
    ]
    for code, status, model in forced:
        expect(credits.sync_detailed(client=v2, x_emulator_error=code), status, model)

    # -- GET /v2/accounts and /v2/accounts/{account_id}
    accounts = api("accounts", "list_accounts")
    page = expect(accounts.sync_detailed(client=v2, limit=1), 200, m.AccountListSuccess)
    assert (page.data.total, page.data.items[0].account_id) == (1, account)
    with t.off_contract():
        expect(accounts.sync_detailed(client=v2, limit=0), 400, m.ErrorBadRequest)
    inactive = accounts.sync_detailed(client=v2, x_emulator_error=errors.ACCOUNT_INACTIVE)
    expect(inactive, 403, m.ErrorForbidden)
    one = api("accounts", "get_account")
    mine = expect(one.sync_detailed(account, client=v2), 200, m.AccountSuccess)
    assert mine.data.created_at == datetime(2026, 1, 1, 0, 0, tzinfo=UTC)  # answered in UTC
    slashed = expect(one.sync_detailed("a/b", client=v2), 404, m.ErrorInvalidAccount)
    assert slashed.metadata.action == "get_account"  # a%2Fb is an id, not a path

    # -- HEAD of the v2 GETs
    if t.json_heads:
        head = api("accounts", "get_credits_head")
        expect(head.sync_detailed(client=v2), 200, None)
        expect(head.sync_detailed(client=unknown), 403, None)
        expect(api("accounts", "list_accounts_head").sync_detailed(client=v2), 200, None)
        account_head = api("accounts", "get_account_head")
        expect(account_head.sync_detailed(account, client=v2), 200, None)
        expect(account_head.sync_detailed("a/b", client=v2), 404, None)

    # -- the tenant, its account, the journal
    tenant = api("emulator", "get_tenant")
    seen = expect(tenant.sync_detailed(key, client=control), 200, m.TenantReport)
    assert (seen.credits_.balance, seen.credits_.consumed) == (2, 1)
    expect(tenant.sync_detailed("nobody", client=control), 404, m.ControlErrorNotFound)
    if t.json_heads:
        tenant_head = api("emulator", "get_tenant_head")
        expect(tenant_head.sync_detailed(key, client=control), 200, None)
        expect(tenant_head.sync_detailed("nobody", client=control), 404, None)
    patch = api("emulator", "update_tenant")
    topped = patch.sync_detailed(key, client=control, body=m.TenantPatch(credits_=100))
    assert expect(topped, 200, m.TenantReport).credits_.balance == 100
    with t.off_contract():
        empty = patch.sync_detailed(key, client=control, body=m.TenantPatch())
        expect(empty, 400, m.ControlErrorBadRequest)
    nobody = patch.sync_detailed("nobody", client=control, body=m.TenantPatch(credits_=1))
    expect(nobody, 404, m.ControlErrorNotFound)
    status = api("emulator", "update_account_status")
    off = m.AccountPatch(status=m.AccountStatus.INACTIVE)
    assert expect(
        status.sync_detailed(account, client=control, body=off), 200, m.Account
    ).status == (m.AccountStatus.INACTIVE)
    asleep = expect(ask(), 403, m.ErrorForbidden)
    assert asleep.error.code == m.ErrorForbiddenErrorCode.ACCOUNT_INACTIVE
    expect(
        status.sync_detailed("acc_nobody", client=control, body=off), 404, m.ControlErrorNotFound
    )
    on = m.AccountPatch(status=m.AccountStatus.ACTIVE)
    expect(status.sync_detailed(account, client=control, body=on), 200, m.Account)

    # -- the other /v2/network actions, over the account's graph
    def act(body: Any) -> Any:
        return network.sync_detailed(client=v2, body=body)

    jane = "https://www.linkedin.com/in/jane-doe-42"
    invited = expect(
        act(m.InviteRequest(account, "invite", m.InviteParamsType0(profile_url=jane))),
        200,
        m.NetworkInviteSuccess,
    )
    assert invited.data.public_identifier == "jane-doe-42"
    checked = act(
        m.CheckInvitationRequest(
            account, "check_invitation", m.CheckInvitationParamsType0(profile_url=jane)
        )
    )
    kind = expect(checked, 200, m.NetworkCheckInvitationSuccess).data.invitation_type
    assert kind.value == "SENT"
    sent = expect(
        act(m.ListSentRequest(account, "list_sent", m.ListSentParams(count=1))),
        200,
        m.NetworkListSentSuccess,
    )
    assert sent.data.invitations[0].entity_urn == invited.data.invitation_urn
    withdrawn = act(
        m.WithdrawRequest(account, "withdraw", m.WithdrawParams(invited.data.invitation_urn))
    )
    assert expect(withdrawn, 200, m.NetworkWithdrawSuccess).data.withdrawn is True
    again = act(m.InviteRequest(account, "invite", m.InviteParamsType0(profile_url=jane)))
    assert "CANT_RESEND_YET" in expect(again, 400, m.ErrorBadRequest).error.message
    received = expect(
        act(
            m.ListInvitationsRequest(account, "list_invitations", m.ListInvitationsParams(count=2))
        ),
        200,
        m.NetworkListInvitationsSuccess,
    )
    first, second = received.data.invitations
    accept = m.AcceptParams(first.entity_urn, first.shared_secret)
    expect(act(m.AcceptRequest(account, "accept", accept)), 200, m.NetworkAcceptSuccess)
    decline = m.DeclineParams(second.entity_urn, second.shared_secret)
    expect(act(m.DeclineRequest(account, "decline", decline)), 200, m.NetworkDeclineSuccess)
    connections = expect(
        act(
            m.ListConnectionsRequest(account, "list_connections", m.ListConnectionsParams(count=1))
        ),
        200,
        m.NetworkListConnectionsSuccess,
    )
    assert connections.data.connections[0].profile_url == first.sender.linkedin_url + "/"

    # -- the network from the control plane
    view = api("emulator", "read_network")
    seen_network = expect(view.sync_detailed(account, client=control), 200, m.NetworkView)
    assert seen_network.counts.pending_received == 10
    expect(view.sync_detailed("acc_nobody", client=control), 404, m.ControlErrorNotFound)
    arrive = api("emulator", "arrive_invitation")
    arrived = expect(
        arrive.sync_detailed(account, client=control, body=m.Arrival(profile_url=jane)),
        201,
        m.ArrivedInvitation,
    )
    twice = arrive.sync_detailed(account, client=control, body=m.Arrival(profile_url=jane))
    expect(twice, 409, m.ControlErrorConflict)
    assert arrived.entity_urn.startswith("urn:li:invitation:")
    mine_sent = seen_network.sent[0].invitation_id
    respond = api("emulator", "respond_to_invitation")
    yes = m.InvitationAnswer(response=m.InvitationAnswerResponse.ACCEPT)
    answered = respond.sync_detailed(account, mine_sent, client=control, body=yes)
    assert expect(answered, 200, m.InvitationOutcome).outcome.value == "accepted"
    gone = respond.sync_detailed(account, mine_sent, client=control, body=yes)
    expect(gone, 404, m.ControlErrorNotFound)
    journal = api("emulator", "list_requests")
    rows = expect(journal.sync_detailed(client=control, api_key=key, limit=3), 200, m.JournalPage)
    assert len(rows.items) == 3
    assert isinstance(rows.items[0], m.JournalEntry)
    with t.off_contract():
        expect(journal.sync_detailed(client=control, limit=0), 400, m.ControlErrorBadRequest)
    if t.json_heads:
        expect(api("emulator", "list_requests_head").sync_detailed(client=control), 200, None)

    # -- the emulated clock: this tenant's time only, so other tests' clocks never move
    clock = api("emulator", "get_clock")
    global_view = expect(clock.sync_detailed(client=control), 200, m.ClockView)
    mine = expect(clock.sync_detailed(client=control, api_key=key), 200, m.ClockView)
    assert mine.offset_s == 0.0
    assert isinstance(global_view.frozen, bool)
    expect(clock.sync_detailed(client=control, api_key="nobody"), 404, m.ControlErrorNotFound)
    with t.off_contract(prism_sees_it=False):  # an empty query value again (see list_faults)
        expect(clock.sync_detailed(client=control, api_key=""), 400, m.ControlErrorBadRequest)
    if t.json_heads:
        expect(api("emulator", "get_clock_head").sync_detailed(client=control), 200, None)
    move = api("emulator", "move_clock")
    ahead = move.sync_detailed(client=control, api_key=key, body=m.ClockMove(advance_s=90))
    assert expect(ahead, 200, m.ClockView).offset_s == 90.0
    with t.off_contract():
        none = move.sync_detailed(client=control, api_key=key, body=m.ClockMove())
        expect(none, 400, m.ControlErrorBadRequest)
    back = m.ClockMove(set_="2000-01-01T00:00:00Z")  # before now: time only moves forward
    expect(
        move.sync_detailed(client=control, api_key=key, body=back), 400, m.ControlErrorBadRequest
    )
    lost = move.sync_detailed(client=control, api_key="nobody", body=m.ClockMove(advance_s=1))
    expect(lost, 404, m.ControlErrorNotFound)

    # -- fault rules
    add = api("emulator", "create_fault")
    once = m.FaultSpec(match=m.FaultMatch(api_key=key), error=errors.RATE_LIMITED, times=1)
    rule = expect(add.sync_detailed(client=control, body=once), 201, m.FaultRule)
    assert (rule.error, rule.times, rule.matched) == (errors.RATE_LIMITED, 1, 0)
    expect(ask(), 429, m.ErrorRateLimited)
    with t.off_contract():
        expect(add.sync_detailed(client=control, body=m.FaultSpec()), 400, m.ControlErrorBadRequest)
    listing = api("emulator", "list_faults")
    expect(listing.sync_detailed(client=control, api_key=key), 200, m.FaultList)
    # Prism lets an empty query value pass (it skips minLength on it); the emulator does not.
    with t.off_contract(prism_sees_it=False):
        expect(listing.sync_detailed(client=control, api_key=""), 400, m.ControlErrorBadRequest)
    if t.json_heads:
        expect(api("emulator", "list_faults_head").sync_detailed(client=control), 200, None)
    slow = m.FaultSpec(match=m.FaultMatch(api_key=key), delay_ms=1)
    other = expect(add.sync_detailed(client=control, body=slow), 201, m.FaultRule)
    remove = api("emulator", "delete_fault")
    expect(remove.sync_detailed(other.id, client=control), 200, m.DeleteOneResult)
    expect(remove.sync_detailed("flt_999999", client=control), 404, m.ControlErrorNotFound)
    clear = api("emulator", "delete_all_faults").sync_detailed(client=control, api_key=key)
    expect(clear, 200, m.DeleteResult)

    # -- reset, metrics, this document
    reset = api("emulator", "emulator_reset")
    done = expect(reset.sync_detailed(client=control, api_key=key), 200, m.ResetResult)
    assert done.reset == m.ResetResultReset.TENANT
    expect(reset.sync_detailed(client=control, api_key="nobody"), 404, m.ControlErrorNotFound)
    assert "emulator_" in expect(
        api("emulator", "get_metrics").sync_detailed(client=control), 200, str
    )
    expect(api("emulator", "get_metrics_head").sync_detailed(client=control), 200, None)
    text = expect(api("emulator", "get_openapi_yaml").sync_detailed(client=control), 200, str)
    assert text == SPEC.read_text(encoding="utf-8")
    expect(api("emulator", "get_openapi_yaml_head").sync_detailed(client=control), 200, None)
    document = api("emulator", "get_openapi_json").sync_detailed(client=control)
    assert expect(document, 200, m.OpenApiDocument).openapi == "3.1.0"
    if t.json_heads:
        expect(api("emulator", "get_openapi_json_head").sync_detailed(client=control), 200, None)

    # -- a 405, as each side's operations parse it (a generated call never uses a wrong method)
    with t.off_contract():
        wrong = v2.get_httpx_client().get("/v2/network")
        control_wrong = control.get_httpx_client().put("/_emulator/faults")
    assert wrong.headers["allow"] == "POST"
    parsed = network._parse_response(client=v2, response=wrong)
    assert isinstance(parsed, m.ErrorMethodNotAllowed)
    assert isinstance(
        add._parse_response(client=control, response=control_wrong),
        (m.ControlErrorMethodNotAllowed),
    )
