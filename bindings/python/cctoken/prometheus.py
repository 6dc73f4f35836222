"""A ``prometheus_client`` collector for cctoken clients (optional: needs ``prometheus_client``).

    from prometheus_client import REGISTRY, start_http_server
    from cctoken.prometheus import CctokenCollector
    REGISTRY.register(CctokenCollector(client_a, client_b))
    start_http_server(9100)

The metrics come from the library's own exposition (``Client.metrics_text()``: counters by
outcome, the fetch-latency histogram, time until the cached token expires...), read with
``prometheus_client``'s parser, so Python and every other language export the same names.
Each sample carries a ``client_id`` label. Without ``prometheus_client``, serve
``client.metrics_text()`` yourself: it is already the text format.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from .client import Client


class CctokenCollector(Collector):
    """Collects the metrics of the given clients at every scrape. Closed clients are skipped."""

    def __init__(self, *clients: Client) -> None:
        self._clients = list(clients)

    def add(self, client: Client) -> None:
        self._clients.append(client)

    def describe(self) -> list[Any]:
        # Families are only known at scrape time; no describe-time collection (which would
        # make registering the collector call into every client).
        return []

    def collect(self) -> Iterator[Any]:
        # One family per name, with the samples of every client (a name may appear only once).
        families: dict[str, Any] = {}
        for client in list(self._clients):
            if client.closed:
                continue
            for family in text_string_to_metric_families(client.metrics_text()):
                if family.name in families:
                    families[family.name].samples.extend(family.samples)
                else:
                    families[family.name] = family
        yield from families.values()
