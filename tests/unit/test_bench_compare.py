"""bench.compare: both sides take turns, the base runs in a worktree of its own, removed afterwards."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from bench import compare


def _figures(orders_per_s: float) -> dict[str, Any]:
    return {"orders_per_s": orders_per_s, "complete": True, "services_cpu_ms": 1000 / orders_per_s, "servers_cpu_ms": {"postgres": 0.3, "kafka": None}, "machine_busy": 0.9}


def test_sides_take_turns_and_the_base_worktree_is_removed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    trees: list[Path] = []

    def measure(tree: Path, orders: int) -> dict[str, Any]:
        assert (tree / "bench" / "e2e_throughput.py").exists()  # a checkout of the project
        trees.append(tree)
        return _figures(1000.0 if tree != compare.REPO else 1200.0)

    monkeypatch.setattr(compare, "_measure", measure)
    monkeypatch.setattr(compare, "RESULTS", tmp_path)
    result = compare.compare("HEAD", rounds=2, orders=500)

    base = trees[0]
    assert trees == [base, compare.REPO, base, compare.REPO]
    assert not base.exists()
    assert str(base) not in subprocess.run(["git", "worktree", "list"], cwd=compare.REPO, capture_output=True, text=True, check=True).stdout
    assert result["base"]["orders_per_s"] == {"mean": 1000.0, "min": 1000.0, "max": 1000.0}
    assert result["current"]["orders_per_s"]["mean"] == 1200.0
    assert (tmp_path / "compare.json").exists()


def test_a_failing_run_still_removes_the_worktree(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen: list[Path] = []

    def measure(tree: Path, orders: int) -> dict[str, Any]:
        seen.append(tree)
        raise RuntimeError("the benchmark failed")

    monkeypatch.setattr(compare, "_measure", measure)
    monkeypatch.setattr(compare, "RESULTS", tmp_path)
    with pytest.raises(RuntimeError):
        compare.compare("HEAD", rounds=1, orders=500)
    assert not seen[0].exists()


def test_an_unknown_base_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.argv", ["bench.compare", "no-such-commit"])
    assert compare.main() == 2
    assert "no-such-commit" in capsys.readouterr().err
