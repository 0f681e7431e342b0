"""Delivery off the request path: a thread of the server process, with its own event loop,
claims due deliveries from the store (a lease, so one process of all sends each), POSTs them
signed, retries on real time with backoff, and runs the periodic sweep.

A thread rather than a task of the server's loop: the in-process client runs its loop only
while a request is in flight, and a receiver that hangs must never hold up an API call. Every
backend is safe to call from another thread (Redis gets a client per loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from linkup_emulator import __version__, envelope
from linkup_emulator.observability.logging import log
from linkup_emulator.store import JournalEntry, Store
from linkup_emulator.store.hooks import Claim
from linkup_emulator.webhooks.events import Pipeline
from linkup_emulator.webhooks.signing import sign
from linkup_emulator.webhooks.subscriptions import host_allowed

if TYPE_CHECKING:
    import httpx

RETRIES = 5  # after the first attempt: 1, 2, 4, 8, 16 times the base (SPEC 1.8), then given up
# POSTs in flight at once, per process: no more are claimed (a receiver is not flooded, and
# a lease is not left to run out waiting its turn).
SENDERS = 8
POLL_MIN_S = 0.02  # how soon the queue is looked at again after work
POLL_MAX_S = 1.0  # and at most, idle (other processes' new deliveries wait this long)
ACTION = "webhook_delivery"  # how an attempt shows in the journal


def backoff(attempt: int, base: float) -> float | None:
    """Seconds before the next try after failed attempt number `attempt` (1 = the first), or
    None once the retries are spent."""
    return base * 2 ** (attempt - 1) if attempt <= RETRIES else None


class Dispatcher:
    def __init__(
        self,
        store: Store,
        pipeline: Pipeline,
        *,
        hosts: list[str],
        retry_base_s: float,
        timeout_s: float,
        sweep_s: float,
        journal_size: int,
        now: Callable[[str], Awaitable[float | None]],
    ) -> None:
        self.store = store
        self.pipeline = pipeline
        self.hosts = hosts
        self.retry_base_s = retry_base_s
        self.timeout_s = timeout_s
        self.sweep_s = sweep_s
        self.journal_size = journal_size
        self.now = now
        # A lease outlives the longest send; one left by a process that died lapses after it.
        self.lease_s = 2 * timeout_s + 10
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._stopping = False
        self._retry_at = float("inf")  # the soonest retry this process scheduled
        self._changed: set[str] = set()  # accounts whose graph a call changed, to sweep
        pipeline.on_queued = self.wake

    # -- the thread -------------------------------------------------------------------------

    def start(self) -> None:
        """Run the dispatcher, if it is not running (webhooks exist: one was made, or the
        state had some at start)."""
        with self._lock:
            if self._thread is not None or self._stopping:
                return
            ready = threading.Event()
            self._thread = threading.Thread(
                target=self._run, args=(ready,), name="linkup-webhooks", daemon=True
            )
            self._thread.start()
        ready.wait(5)

    def wake(self) -> None:
        """Look at the queue now (a delivery was queued, a webhook made)."""
        self.start()
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(wake.set)

    def changed(self, account_id: str) -> None:
        """A call changed the account's graph: sweep it soon (only while webhooks exist)."""
        if self._thread is None:
            return
        with self._lock:
            self._changed.add(account_id)
        self.wake()

    def close(self) -> None:
        with self._lock:
            self._stopping = True
            thread = self._thread
        if thread is None:
            return
        self.wake()
        thread.join(self.timeout_s + 5)

    def _run(self, ready: threading.Event) -> None:
        asyncio.run(self._main(ready))

    async def _main(self, ready: threading.Event) -> None:
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        wake = self._wake
        ready.set()
        sending: set[asyncio.Task[None]] = set()
        # Imported here, in the delivery thread: with the dev tools installed httpx pulls in its
        # CLI (click, rich, pygments), ~0.13 s that no server start should wait for.
        import httpx

        timeout = httpx.Timeout(self.timeout_s)
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
            next_sweep, pause = 0.0, POLL_MIN_S
            while not self._stopping:
                worked = False
                try:
                    with self._lock:
                        changed, self._changed = self._changed, set()
                    for account_id in changed:
                        await self.pipeline.account_changed(account_id)
                    if time.monotonic() >= next_sweep:
                        next_sweep = time.monotonic() + self.sweep_s
                        await self.pipeline.tick()
                    free = SENDERS - len(sending)
                    claims = await self.store.claim(time.time(), self.lease_s, free) if free else []
                    for claim in claims:
                        task = asyncio.create_task(self.send(client, claim))
                        sending.add(task)
                        task.add_done_callback(sending.discard)
                        task.add_done_callback(lambda _: wake.set())  # a sender is free
                        worked = True
                except Exception:  # a store that failed once; the next round tries again
                    log.exception("webhook dispatcher round failed")
                pause = POLL_MIN_S if worked else min(pause * 2, POLL_MAX_S)
                if self._retry_at < float("inf"):
                    pause = max(0.0, min(pause, self._retry_at - time.time()))
                    if time.time() >= self._retry_at:
                        self._retry_at = float("inf")
                wake.clear()
                try:
                    await asyncio.wait_for(wake.wait(), pause)
                    pause = POLL_MIN_S
                except TimeoutError:
                    pass
            if sending:
                await asyncio.wait(sending, timeout=self.timeout_s)

    # -- one attempt ------------------------------------------------------------------------

    async def send(self, client: httpx.AsyncClient, claim: Claim) -> None:
        try:
            await self._attempt(client, claim)
        except Exception:
            log.exception("webhook delivery failed unexpectedly")

    async def _attempt(self, client: httpx.AsyncClient, claim: Claim) -> None:
        hooks = await self.store.hooks(claim.api_key)
        hook = next((h for h in hooks if h.webhook_id == claim.webhook_id), None)
        event = None
        if hook is not None:
            event = await self.store.hook_event(claim.api_key, claim.webhook_id, claim.event_id)
        if hook is None or hook.url is None or event is None:  # deleted, or reset away
            await self.store.settle(claim, None)
            return
        url, stamp = hook.url, str(int(time.time()))  # real seconds: receivers check skew
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"linkup-emulator/{__version__}",
            "X-Linkup-Timestamp": stamp,
        }
        if hook.secret is not None:
            headers["X-Linkup-Signature"] = sign(hook.secret, stamp, event.body)
        import httpx

        started = time.perf_counter()
        status, code = 0, None
        if not host_allowed(url, self.hosts):  # the allowed hosts changed since it was made
            code = "HOST_NOT_ALLOWED"
        else:
            try:
                response = await client.post(url, content=event.body, headers=headers)
                status = response.status_code
            except httpx.TimeoutException:
                code = "TIMEOUT"
            except httpx.HTTPError:
                code = "CONNECTION_ERROR"
        attempt = claim.attempts + 1
        await self._journal(
            claim, hook.account_id, url, (status, code), time.perf_counter() - started, attempt
        )
        delay = (
            None if 200 <= status < 300 or not hook.retry else backoff(attempt, self.retry_base_s)
        )
        if code == "HOST_NOT_ALLOWED":
            delay = None
        retry_at = None if delay is None else time.time() + delay
        await self.store.settle(claim, retry_at)
        if retry_at is not None:
            self._retry_at = min(self._retry_at, retry_at)
            self.wake()

    async def _journal(
        self,
        claim: Claim,
        account_id: str,
        url: str,
        outcome: tuple[int, str | None],
        seconds: float,
        attempt: int,
    ) -> None:
        status, code = outcome
        now = await self.now(claim.api_key)
        entry = JournalEntry(
            time=envelope.stamp(time.time() if now is None else now),
            method="POST",
            path=url,
            api_key=claim.api_key,
            account_id=account_id,
            action=ACTION,
            status=status,
            code=code,
            credits=0,
            duration_ms=round(seconds * 1000, 3),
            injected=False,
            request_id=f"{claim.event_id}#{attempt}",
        )
        await self.store.record(entry, self.journal_size)
