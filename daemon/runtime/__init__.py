"""The runtime ring: engine, executors, scheduler, journal."""
