"""The scheduler's config file: defaults, percentage_of_nodes_to_score, and one-line errors."""
from __future__ import annotations

import pytest

from labkube.client.component import ConfigError
from labkube.scheduler.config import SchedulerConfig


@pytest.mark.parametrize("raw, want", [
    ({"kubeconfig": "k"}, SchedulerConfig("k")),
    ({"kubeconfig": "k", "percentage_of_nodes_to_score": 10}, SchedulerConfig("k", percentage_of_nodes_to_score=10)),
    ({"kubeconfig": "k", "percentage_of_nodes_to_score": 100},
     SchedulerConfig("k", percentage_of_nodes_to_score=100)),
    ({"kubeconfig": "k", "scheduler_name": "s2", "leader_elect": True, "identity": "a"},
     SchedulerConfig("k", "s2", True, "a")),
])
def test_settings(raw, want):
    assert SchedulerConfig.from_dict("s.yaml", raw) == want


@pytest.mark.parametrize("raw, message", [
    ({"kubeconfig": "k", "percentage_of_nodes_to_score": 101},
     "s.yaml: percentage_of_nodes_to_score: must be a whole number from 0 to 100, got 101"),
    ({"kubeconfig": "k", "percentage_of_nodes_to_score": "10%"},
     "s.yaml: percentage_of_nodes_to_score: must be a whole number from 0 to 100, got '10%'"),
    ({"kubeconfig": "k", "percentage_of_nodes_to_score": True},
     "s.yaml: percentage_of_nodes_to_score: must be a whole number from 0 to 100, got True"),
    ({"kubeconfig": "k", "scheduler_name": 3}, "s.yaml: scheduler_name: must be a string"),
    ({"kubeconfig": "k", "nodes_to_score": 3}, "s.yaml: nodes_to_score: unknown setting (known: identity, "
     "kubeconfig, leader_elect, percentage_of_nodes_to_score, scheduler_name)"),
])
def test_bad_settings(raw, message):
    with pytest.raises(ConfigError) as e:
        SchedulerConfig.from_dict("s.yaml", raw)
    assert str(e.value) == message
