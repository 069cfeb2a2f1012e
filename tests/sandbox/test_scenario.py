"""Scenario files: validation errors name the path; nothing half-loaded."""

from __future__ import annotations

import copy
import http.server
import json
import threading
import urllib.error
import urllib.request

import pytest

from drorch.errors import InputError
from drorch.modules.http_check.sandbox import _ORIGINAL_DO_OPEN, ENDPOINTS
from drorch.modules.lambda_invoke.sandbox import answer_for, declare_answer
from drorch.sandbox import Sandbox
from drorch.sandbox.scenario import (
    builtin_scenarios,
    declare_endpoints,
    load_scenario,
    parse_scenario,
)

BASE = {
    "name": "t",
    "accounts": ["staging-web"],
    "sourceServers": [
        {
            "account": "staging-web",
            "hostname": "web-1",
            "ip": "10.200.1.10",
            "tags": {"dr:enabled": "true"},
        }
    ],
}


def test_builtin_scenarios_parse():
    assert {"three-tier", "large-estate"} <= set(builtin_scenarios())
    three = load_scenario("three-tier")
    assert len(three.servers) == 13 and three.account_names == [
        "staging-web",
        "staging-app",
        "staging-data",
    ]
    large = load_scenario("large-estate")
    assert len(large.servers) == 1050
    per_account = {}
    for server in large.servers:
        per_account[server.account] = per_account.get(server.account, 0) + 1
    assert per_account == {
        "staging-data": 250,
        "staging-app": 250,
        "staging-web": 250,
        "staging-nonprod": 300,
    }
    assert {s.tags["dr:wave"] for s in large.servers} == {"1", "2", "3", "4", "5"}


def test_server_groups_expand_with_rotation_and_unique_ips():
    data = {
        "name": "g",
        "serverGroups": [
            {
                "account": "staging-app",
                "count": 4,
                "hostname": "app-{n:02d}",
                "ipRange": "10.1.0.0/24",
                "tags": {"Tier": "app"},
                "rotate": {"dr:wave": ["1", "2"]},
            }
        ],
    }
    servers = parse_scenario(data, "g.yaml").servers
    assert [s.hostname for s in servers] == ["app-01", "app-02", "app-03", "app-04"]
    assert [s.tags["dr:wave"] for s in servers] == ["1", "2", "1", "2"]
    assert [s.ip for s in servers] == ["10.1.0.10", "10.1.0.11", "10.1.0.12", "10.1.0.13"]
    assert all(s.tags["Tier"] == "app" for s in servers)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda d: d["sourceServers"][0].update(ip="10.200.1.999"),
            r"\$\.sourceServers\[0\]\.ip: '10\.200\.1\.999' is not a 'ipv4'",
        ),
        (
            lambda d: d["sourceServers"][0].update(os="BEOS"),
            r"\$\.sourceServers\[0\]\.os: 'BEOS' is not one of",
        ),
        (
            lambda d: d["sourceServers"][0].pop("hostname"),
            r"\$\.sourceServers\[0\]: 'hostname' is a required property",
        ),
        (lambda d: d.update(colour="red"), r"Additional properties are not allowed \('colour'"),
        (
            lambda d: d["sourceServers"].append(dict(d["sourceServers"][0])),
            "hostname 'web-1' appears twice",
        ),
        (
            lambda d: d.update(
                serverGroups=[
                    {
                        "account": "staging-web",
                        "count": 300,
                        "hostname": "w{n}",
                        "ipRange": "10.0.0.0/24",
                    }
                ]
            ),
            r"\$\.serverGroups\[0\]\.ipRange 10\.0\.0\.0/24 has too few addresses for count 300",
        ),
        (
            lambda d: d.update(
                serverGroups=[
                    {
                        "account": "staging-web",
                        "count": 1,
                        "hostname": "w{i}",
                        "ipRange": "10.0.0.0/24",
                    }
                ]
            ),
            r"\$\.serverGroups\[0\]\.hostname 'w\{i\}' is not a valid pattern",
        ),
        (
            lambda d: d.update(
                resources=[
                    {
                        "account": "staging-web",
                        "type": "ecs-service",
                        "name": "x",
                        "desiredCount": -1,
                    }
                ]
            ),
            r"\$\.resources\[0\]",
        ),
        (
            lambda d: d.update(httpEndpoints=[{"url": "ftp://files.acme.example/x"}]),
            r"\$\.httpEndpoints\[0\]\.url: 'ftp://files\.acme\.example/x' does not match",
        ),
        (
            lambda d: d.update(httpEndpoints=[{"url": "https://a.example/", "status": 700}]),
            r"\$\.httpEndpoints\[0\]\.status: 700 is greater than the maximum of 599",
        ),
        (
            lambda d: d.update(
                httpEndpoints=[
                    {"url": "https://A.example/health"},
                    {"url": "https://a.example:443/health"},
                ]
            ),
            r"\$\.httpEndpoints\[1\]\.url https://a\.example/health is declared twice",
        ),
    ],
)
def test_invalid_scenarios_name_the_path(mutate, message):
    data = copy.deepcopy(BASE)
    mutate(data)
    with pytest.raises(InputError, match=message):
        parse_scenario(data, "t.yaml")


def test_unknown_scenario_lists_the_builtins():
    with pytest.raises(InputError) as caught:
        load_scenario("nope")
    assert "three-tier" in caught.value.hint


def test_unknown_account_is_reported(staging_accounts):
    scenario = parse_scenario(BASE | {"accounts": ["staging-web", "staging-mars"]}, "t.yaml")
    with pytest.raises(InputError, match="staging-mars"):
        scenario.select_accounts(list(staging_accounts.values()))


def test_three_tier_declares_the_claims_health_endpoints():
    endpoints = {e["url"]: e for e in load_scenario("three-tier").http_endpoints}
    assert endpoints["https://claims.acme.example/health"]["status"] == 200


class _LocalServer(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"real network")

    def log_message(self, *args: object) -> None:
        pass


def test_a_stopped_sandbox_leaves_urllib_and_the_declarations_behind():
    server = http.server.HTTPServer(("127.0.0.1", 0), _LocalServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    local = f"http://127.0.0.1:{server.server_address[1]}/"
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # whatever the env says
    try:
        scenario = load_scenario("three-tier")
        with Sandbox() as sandbox:
            assert declare_endpoints(scenario.http_endpoints) == [
                "https://claims.acme.example/health",
                "https://claims-primary.acme.example/health",
            ]
            declare_answer("111111111111", "us-east-1", "acme-smoke-test", result={"ok": True})
            with urllib.request.urlopen("https://claims.acme.example/health", timeout=5) as answer:
                assert json.loads(answer.read()) == {"status": "ok", "service": "claims"}
            with pytest.raises(urllib.error.URLError):  # not declared: unreachable
                direct.open(local, timeout=5)
            sandbox.faults.fail_url("https://claims.acme.example/health")
        assert urllib.request.AbstractHTTPHandler.do_open is _ORIGINAL_DO_OPEN
        assert len(ENDPOINTS) == 0
        assert answer_for("111111111111", "us-east-1", "acme-smoke-test") is None
        with direct.open(local, timeout=5) as answer:
            assert answer.read() == b"real network"
    finally:
        server.shutdown()
        server.server_close()
