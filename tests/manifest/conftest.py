"""Shared manifest documents and a stand-in module registry."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from drorch.modules import REGISTRY

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "manifests" / "examples"

# The TRS manifestVersion 2.0 example (seed 002 §5.2, digest-002-trs §7.2), verbatim.
TRS_EXAMPLE = {
    "manifestVersion": "2.0",
    "customer": "CustomerX",
    "environment": "production",
    "phases": ["INSTANTIATE", "ACTIVATE", "CLEANUP", "REPLICATE"],
    "waves": [
        {
            "waveNumber": 1,
            "waveName": "Database Tier",
            "pauseBeforeWave": True,
            "technologies": [{"type": "database", "priority": "critical"}],
        },
        {
            "waveNumber": 2,
            "waveName": "Application Tier",
            "pauseBeforeWave": True,
            "technologies": [
                {"type": "drs", "priority": "high"},
                {"type": "application", "priority": "high"},
            ],
        },
        {
            "waveNumber": 3,
            "waveName": "Web Tier",
            "pauseBeforeWave": False,
            "technologies": [
                {"type": "drs", "priority": "medium"},
                {"type": "infrastructure", "priority": "medium"},
            ],
        },
    ],
    "approvalWorkflow": {
        "enabled": True,
        "approvers": ["manager@example.com", "director@example.com"],
        "timeout": 1800,
    },
    "healthChecks": {
        "enabled": True,
        "timeout": 300,
        "endpoints": [{"url": "https://app.example.com/health", "expectedStatus": 200}],
    },
    "notifications": {
        "snsTopicArn": "arn:aws:sns:us-east-2:123456789012:enterprise-dr-notifications",
        "emailRecipients": ["team@example.com"],
    },
}

MINIMAL = {
    "manifestVersion": "2.0",
    "application": "claims",
    "customer": "acme",
    "environment": "production",
    "waves": [
        {
            "waveNumber": 1,
            "waveName": "data",
            "technologies": [{"type": "drs", "selector": {"tags": {"dr:wave": "1"}}}],
        },
        {
            "waveNumber": 2,
            "waveName": "app",
            "technologies": [{"type": "drs", "selector": {"tags": {"dr:wave": "2"}}}],
        },
        {
            "waveNumber": 3,
            "waveName": "web",
            "technologies": [{"type": "drs", "selector": {"tags": {"dr:wave": "3"}}}],
        },
    ],
}


@dataclass
class FakeModule:
    type: str
    parameters_schema: dict = field(default_factory=dict)


FAKE_MODULES = {
    "drs": FakeModule(
        "drs",
        {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "launchDisposition": {"enum": ["STARTED", "STOPPED"]},
                "batchSize": {"type": "integer", "minimum": 1},
                "subnetIds": {"type": "array", "items": {"type": "string"}},
            },
        },
    ),
    "aurora-mysql": FakeModule(
        "aurora-mysql",
        {
            "type": "object",
            "required": ["GlobalClusterIdentifier"],
            "properties": {"GlobalClusterIdentifier": {"type": "string"}},
        },
    ),
    # the real step and check modules: wave actions and health checks use them
    **{name: module for name, module in REGISTRY.items() if module.kind != "resource"},
}


@pytest.fixture
def minimal() -> dict:
    return copy.deepcopy(MINIMAL)


@pytest.fixture
def trs_example() -> dict:
    return copy.deepcopy(TRS_EXAMPLE)
