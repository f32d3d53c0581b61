"""The journal's cycle records are byte-identical to those the code wrote before the
core's JSON converters became one (``daemon.core.plain``): see ``cycle_golden.py``."""

from __future__ import annotations

import json

from tests.runtime.cycle_golden import GOLDEN, cycle_records


def test_cycle_records_match_the_golden() -> None:
    """Each evaluation on the simulated market encodes to exactly the golden text, key
    order included (four cycles: new hedges, nothing to do, a reduce, a close with a change
    held back)."""
    golden = json.loads(GOLDEN.read_text())
    records = cycle_records()
    assert len(records) == len(golden) == 4
    for got, want in zip(records, golden, strict=True):
        assert got == want
