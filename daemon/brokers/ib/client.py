"""The one place that imports the IB client library: ``ib_async`` or ``ib_insync``.

Both expose the same facade (``IB``, ``Contract``, ``ComboLeg``, ``Order``, ...) because
ib_async is ib_insync's community continuation, but they cannot share one environment
(both install a top-level ``eventkit``), so whichever the configuration names is tried
first and the other is the fallback. Every other module of the adapter gets the classes
from the ``IbLibrary`` returned here, never by importing a library itself.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal

from daemon.errors import BrokerError

LibraryName = Literal["ib_async", "ib_insync"]
_OTHER: dict[str, LibraryName] = {"ib_async": "ib_insync", "ib_insync": "ib_async"}


@dataclass(frozen=True)
class IbLibrary:
    """The imported library and the classes the adapter uses from it."""

    name: LibraryName
    module: ModuleType

    def __getattr__(self, item: str) -> Any:
        # Only reached for names not defined on the dataclass: IB, Contract, ComboLeg, ...
        if item.startswith("__") or item in ("name", "module"):
            raise AttributeError(item)
        return getattr(self.module, item)

    def new_contract(self, **fields: object) -> Any:
        return self.module.Contract(**fields)

    def forget_tickers(self, ib: Any, contracts: Iterable[Any]) -> None:
        """Drop the library's cached tickers of ``contracts``: a later snapshot of the same
        contract would start from the old ticker and keep a side IB no longer quotes.
        ib_async keys its tickers by ``hash(contract)`` (the conId), ib_insync by ``id``."""
        tickers = ib.wrapper.tickers
        for contract in contracts:
            if self.name == "ib_insync":
                tickers.pop(id(contract), None)
            elif contract.conId:
                tickers.pop(hash(contract), None)


def load_library(preferred: LibraryName = "ib_async") -> IbLibrary:
    """Import ``preferred``, else the other one; ``BrokerError`` when neither is installed."""
    errors: list[str] = []
    for name in (preferred, _OTHER[preferred]):
        try:
            return IbLibrary(name, importlib.import_module(name))
        except ImportError as exc:
            errors.append(f"{name}: {exc}")
    raise BrokerError(
        "no IB client library is installed (pip install -e '.[ib]' for ib_async, or "
        "'.[ib-insync]' for ib_insync): " + "; ".join(errors)
    )
