"""Pools are sized by the cores a container may use (its cgroup CPU limit), not by the node's cores."""
from __future__ import annotations

import os

from runtime.cpus import usable_cpus


def _affinity() -> int:
    return len(os.sched_getaffinity(0))


def test_a_cgroup_v2_limit_caps_the_cores(tmp_path):
    (tmp_path / "cpu.max").write_text("40000 100000\n")
    assert usable_cpus(tmp_path) == 1
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert usable_cpus(tmp_path) == min(2, _affinity())


def test_no_limit_means_the_cores_this_process_may_run_on(tmp_path):
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert usable_cpus(tmp_path) == _affinity()
    assert usable_cpus(tmp_path / "missing") == _affinity()


def test_a_cgroup_v1_quota_is_read_too(tmp_path):
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("50000\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert usable_cpus(tmp_path) == 1
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert usable_cpus(tmp_path) == _affinity()
