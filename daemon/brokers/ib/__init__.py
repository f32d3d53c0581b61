"""The Interactive Brokers adapter: the ``Broker`` port over IB Gateway / TWS.

Modules: ``adapter`` (``IbBroker``, the port), ``session`` (connection, timeouts, error
translation), ``contracts`` (conIds), ``marketdata`` (snapshots and chains), ``history``
(daily bars; NYSE breadth and what IB serves of it), ``orders`` (combos and their event
streams), ``mapping`` (the pure translation tables: statuses, error-code sets, contract
fields, order plans), ``dates`` (IB's dates to expiries and settlement), ``client`` (the
only import of ``ib_async`` / ``ib_insync``) and ``params`` (``IbParams``, the
``broker.ib`` config section, kept beside the adapter so it never imports the outer config).

``IbBroker`` is imported lazily, so the pure ``mapping`` loads without a client library.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from daemon.brokers.ib.adapter import IbBroker

__all__ = ["IbBroker"]


def __getattr__(name: str) -> Any:
    if name == "IbBroker":
        from daemon.brokers.ib.adapter import IbBroker

        return IbBroker
    raise AttributeError(name)
