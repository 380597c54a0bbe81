"""The kill-point planner and progress probes of tests/support/kill_points.py."""

from __future__ import annotations

import random

from tests.support.kill_points import line_count, plan_kill_points, tear_tail


def test_first_points_are_spread_over_the_run():
    """The first points are stratified over the run: one per slice, alternating time/progress."""
    points = plan_kill_points(random.Random(0), runtime=10.0, final_progress=300, count=5)
    first = [next(points) for _ in range(5)]
    assert [p.after is not None for p in first] == [True, False, True, False, True]
    assert 0 <= first[0].after < 2.0 and 4.0 <= first[2].after < 6.0 and 8.0 <= first[4].after <= 9.7
    assert 60 <= first[1].at_progress <= 120 and 180 <= first[3].at_progress <= 240


def test_a_torn_last_line_is_not_counted(tmp_path):
    path = tmp_path / "out.jsonl"
    count = line_count(path)
    assert count() == 0  # not written yet
    path.write_text('{"id": 1}\n{"id": 2}\n')
    tear_tail(path, b'{"id": 3, "par')
    assert count() == 2
