"""Layer 2's signals: each scores a raw market reading into z in [-1, +1] or says why
it cannot (model page, section 3), plus the skew that splits layer 3 (section 4).

Modules: ``maps`` (raw -> z), ``indicators`` (RSI, MACD, realised vol, A/D slope),
``technical`` (rsi, macd), ``market`` (breadth, term, rv_iv), ``events``, ``book``
(proximity), ``compute`` (readings), ``base`` (the shared types), and ``skew`` (layer 3's
VIX share; import it from ``daemon.core.signals.skew``, it needs the pricing module).
"""

from daemon.core.signals.base import (
    BuiltinSignal,
    Score,
    Signal,
    SignalInputs,
    SignalReading,
    SkewChain,
    Unavailable,
    UnavailableReason,
)
from daemon.core.signals.compute import (
    BUILTIN_NAMES,
    CustomSignal,
    builtin_signals,
    compute_signals,
)
from daemon.core.signals.maps import piecewise_linear

__all__ = [
    "BUILTIN_NAMES",
    "BuiltinSignal",
    "CustomSignal",
    "Score",
    "Signal",
    "SignalInputs",
    "SignalReading",
    "SkewChain",
    "Unavailable",
    "UnavailableReason",
    "builtin_signals",
    "compute_signals",
    "piecewise_linear",
]
