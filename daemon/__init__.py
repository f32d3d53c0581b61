"""ALVH daemon: the Adaptive Layered VIX Hedge for an SPX iron-condor book."""

__version__ = "0.1.0"
