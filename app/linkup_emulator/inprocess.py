"""An httpx client of an emulator app in the same process: requests are ASGI calls, no socket.

The pytest plugin's `linkup` fixture runs on it. starlette's TestClient answers a request in
~2.3 ms here (eight hops through an anyio portal thread); this in ~0.6 ms, because the app's
event loop runs in the thread that calls it (bench/plugin.py measures a test's whole cost).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import httpx

T = TypeVar("T")


class LoopHost:
    """One event loop for an app, run by whichever thread calls it.

    A call from a thread with no loop of its own runs the app's loop right there, until its
    coroutine is done. A call that arrives while another thread is running the loop joins it
    (its coroutine runs alongside, so a delayed request never holds up another), and the
    running thread keeps the loop going until every joined call is done. A call from inside
    another event loop (an async test) is hosted by a helper thread, and waits for it.
    """

    GUEST_POLL_S = 0.001  # how often a host whose own call is done checks on its guests

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._mutex = threading.Lock()  # guards _hosted and _guests
        self._running = threading.Lock()  # held by the thread running the loop
        self._hosted = False
        self._guests: set[Future[Any]] = set()
        self._helper = ThreadPoolExecutor(1, thread_name_prefix="linkup-emulator")

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Await `coroutine` on the loop and give its result (or raise its error)."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:  # this thread runs a loop of its own: it can't run ours as well
            return self._helper.submit(self.run, coroutine).result()
        guest: Future[T] | None = None
        with self._mutex:
            if self._hosted:
                guest = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
                self._guests.add(guest)
            else:
                self._hosted = True
        if guest is not None:
            return guest.result()
        with self._running:  # the previous host may still be leaving run_until_complete
            return self.loop.run_until_complete(self._host(coroutine))

    async def _host(self, coroutine: Coroutine[Any, Any, T]) -> T:
        try:
            return await coroutine
        finally:
            while True:
                with self._mutex:
                    self._guests = {guest for guest in self._guests if not guest.done()}
                    if not self._guests:
                        self._hosted = False
                        break
                await asyncio.sleep(self.GUEST_POLL_S)

    def close(self) -> None:
        self._helper.shutdown()
        self.loop.close()


class InProcessTransport(httpx.BaseTransport):
    """httpx's ASGITransport, driven from sync code through a LoopHost. Responses are read
    whole, so a stream that never ends (SSE) is for a live server, not this."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.host = LoopHost()
        self._asgi = httpx.ASGITransport(app=app)
        self._lifespan = app.router.lifespan_context(app)
        self.host.run(self._lifespan.__aenter__())

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        content = request.read()  # a sync body, read here; the app's side is async

        async def send() -> tuple[int, httpx.Headers, bytes]:
            forwarded = httpx.Request(
                request.method, request.url, headers=request.headers, content=content
            )
            response = await self._asgi.handle_async_request(forwarded)
            return response.status_code, response.headers, await response.aread()

        status, headers, body = self.host.run(send())
        return httpx.Response(status, headers=headers, content=body, request=request)

    def close(self) -> None:
        self.host.run(self._lifespan.__aexit__(None, None, None))
        self.host.close()


class InProcessClient(httpx.Client):
    """An httpx client of `app`; `.run(coroutine)` awaits anything else on the app's loop
    (a store call, say)."""

    def __init__(self, app: Any, **options: Any) -> None:
        self.transport = InProcessTransport(app)
        super().__init__(transport=self.transport, **options)

    @property
    def app(self) -> Any:
        return self.transport.app

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.transport.host.run(coroutine)
