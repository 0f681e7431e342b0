"""Prometheus metrics of one app; with PROMETHEUS_MULTIPROC_DIR set, of all its workers."""

from __future__ import annotations

import hashlib
import hmac
import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

from linkup_emulator.control import mask


def tenant_digest(api_key: str | None, secret: bytes = b"") -> str:
    """HMAC-SHA256 of the key, in hex: its first 6 characters tell tenants apart in labels, its
    first 16 name a tenant in the dashboard's URLs."""
    return hmac.new(secret, (api_key or "").encode(), hashlib.sha256).hexdigest()


def tenant_label(api_key: str | None, secret: bytes = b"") -> str:
    """The masked key, which two keys can share ("****_key"), plus 6 hex of an HMAC-SHA256 of
    it so their credits stay apart: "****_key#7f4711" for demo_key without a secret. The secret
    is the admin token when one is set: /metrics is open, and with the mask's length and last
    4 characters an unkeyed hash would let a short key be guessed offline."""
    return f"{mask(api_key)}#{tenant_digest(api_key, secret)[:6]}"


MAX_TENANT_SERIES = 1000  # past it, credits add up under one "other" tenant label
OTHER_TENANTS = "other"


class Metrics:
    """Per-app metrics; with PROMETHEUS_MULTIPROC_DIR set (several workers) they add up."""

    def __init__(self, label_secret: bytes = b"") -> None:
        self._label_secret = label_secret
        self.multiprocess = "PROMETHEUS_MULTIPROC_DIR" in os.environ
        self._counters: dict[tuple[str, int, str | None], Counter] = {}
        self._histograms: dict[str, Histogram] = {}
        self._tenants: dict[str | None, Counter] = {}
        self._names: dict[str | None, str] = {}  # each tenant's series label
        self._other = False  # whether the "other" series exists
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "emulator_requests",
            "Requests answered",
            ["route", "status", "code"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "emulator_request_duration_seconds",
            "Time to answer a request",
            ["route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 2.5, 30),
        )
        self.credits = Counter(
            "emulator_credits_consumed", "Credits debited", ["tenant"], registry=self.registry
        )
        self.injected = Counter(
            "emulator_injected_faults",
            "Errors injected by header or fault rule",
            ["code"],
            registry=self.registry,
        )

    def observe(
        self,
        route: str,
        status: int,
        code: str | None,
        seconds: float,
        *,
        api_key: str | None = None,
        credits: int = 0,
        injected: bool = False,
    ) -> None:
        # labels() costs a lock and a tuple build per call; the few children are kept here.
        key = (route, status, code)
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = self.requests.labels(route, str(status), code or "")
        counter.inc()
        histogram = self._histograms.get(route)
        if histogram is None:
            histogram = self._histograms[route] = self.latency.labels(route)
        histogram.observe(seconds)
        if credits:
            tenant = self._tenants.get(api_key)
            if tenant is None:
                # A series per tenant, up to the cap: 20 000 tenants made a 3 MB scrape.
                name = (
                    tenant_label(api_key, self._label_secret)
                    if len(self._tenants) < MAX_TENANT_SERIES
                    else OTHER_TENANTS
                )
                tenant = self._tenants[api_key] = self.credits.labels(name)
                self._names[api_key] = name
                self._other = self._other or name == OTHER_TENANTS
            tenant.inc(credits)
        if injected:
            self.injected.labels(code or "").inc()

    def forget(self, api_key: str | None) -> None:
        """A reset's tenant (None: every tenant) leaves the metrics with its series. (With
        several workers, each worker's files keep theirs: prometheus-client can't remove a
        series from them.)"""
        keys = list(self._tenants) if api_key is None else [api_key]
        for key in keys:
            name = self._names.pop(key, None)
            self._tenants.pop(key, None)
            if name is not None and name != OTHER_TENANTS:
                self.credits.remove(name)
        if api_key is None and self._other:
            self.credits.remove(OTHER_TENANTS)
            self._other = False

    def exposition(self) -> tuple[bytes, str]:
        if self.multiprocess:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
