"""Broker adapters: the port lives in daemon.core.broker; these implement it."""
