"""The pure core: no broker, no clock, no I/O. Time and data arrive as arguments."""
