"""The replay: the daemon on real daily history (issue 8).

``data*`` modules read and check the history (docs/replay.md, "Data"); the historical
market itself is ``daemon.brokers.sim.historical``.
"""
