"""The simulated broker: a seeded, deterministic in-memory market behind the Broker port.

``SimBroker`` (broker.py) over ``SimClock`` (clock.py), the model (market.py, evolution.py,
history.py), the chains and quotes (chains.py), the matching engine (orders.py) and the
fault injections (faults.py); every knob is in ``SimParams`` (params.py).
"""

from daemon.brokers.sim.broker import SimBroker
from daemon.brokers.sim.clock import SimClock
from daemon.brokers.sim.params import FaultParams, SimParams

__all__ = ["FaultParams", "SimBroker", "SimClock", "SimParams"]
