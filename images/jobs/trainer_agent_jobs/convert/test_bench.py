"""Benchmark windows: repeated until three agree within 10%, the spread reported, unstable runs marked."""
from __future__ import annotations

import pytest

from trainer_agent_jobs.convert.bench import spread, stable_windows


def _measure(values: list[float]):
    return lambda i: {"qps": values[min(i, len(values) - 1)]}


@pytest.mark.parametrize(("name", "values", "windows", "stable", "value"), [
    ("three windows agree at once", [100, 104, 98], 3, True, pytest.approx(302 / 3)),
    ("a slow first window is outvoted by the three after it", [30, 100, 103, 99], 4, True, pytest.approx(302 / 3)),
    ("windows that never agree: unstable, their lower quartile counts", [100, 40, 160, 60, 150, 50], 6, False, pytest.approx(52.5)),
])
def test_stable_windows(name: str, values: list[float], windows: int, stable: bool, value: float) -> None:
    measured = stable_windows(_measure(values), "qps", max_windows=6)
    assert len(measured["windows"]) == windows, name
    assert measured["stable"] is stable
    assert measured["value"] == value
    assert measured["spread"] == pytest.approx(spread([w["qps"] for w in measured["windows"][-3:]]))


def test_spread_is_the_largest_relative_distance_from_the_mean() -> None:
    assert spread([90, 100, 110]) == pytest.approx(0.1)
    assert spread([]) == 1.0
