"""DRS launch quotas in the fake: ServiceQuotaExceededException, configurable per sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from drorch.sandbox import DrsQuotas, Sandbox
from drorch.sandbox.drs.models import drs_backends

ACCOUNT = "111111111111"
REGION = "us-east-2"
TO_LAUNCHED = 30 + 60 + 240 + 120


@pytest.fixture
def small_quotas() -> Iterator[tuple[Sandbox, Any]]:
    quotas = DrsQuotas(max_servers_per_job=3, max_concurrent_jobs=2, max_servers_in_active_jobs=4)
    with Sandbox(drs_quotas=quotas, strict=True) as sandbox:
        drs = sandbox.admin_session(ACCOUNT, REGION).client("drs")
        yield sandbox, drs
        assert sandbox.state.fidelity.violations == []


def seed(hostname: str, ip: str) -> Any:
    return drs_backends[ACCOUNT][REGION].add_source_server(hostname=hostname, ip=ip)


def test_quotas_use_service_quota_exceeded(small_quotas: Any) -> None:
    sandbox, drs = small_quotas
    drs.initialize_service()
    ids = [seed(f"q-{n}", ip=f"172.31.2.{n + 10}").source_server_id for n in range(6)]

    def launch(chosen: list[str]) -> dict[str, Any]:
        return drs.start_recovery(
            sourceServers=[{"sourceServerID": i} for i in chosen], isDrill=True
        )

    with pytest.raises(ClientError) as excinfo:  # 4 servers in one job > 3
        launch(ids[:4])
    response = excinfo.value.response
    assert response["Error"]["Code"] == "ServiceQuotaExceededException"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 402
    assert response["quotaCode"] == "sandbox-max-source-servers-per-job"
    assert response["serviceCode"] == "drs"

    launch(ids[:3])
    with pytest.raises(ClientError) as excinfo:  # 3 + 2 servers in active jobs > 4
        launch(ids[3:5])
    assert excinfo.value.response["quotaCode"] == "sandbox-max-source-servers-in-all-active-jobs"

    launch(ids[3:4])
    with pytest.raises(ClientError) as excinfo:  # a third active job > 2
        launch(ids[5:6])
    assert excinfo.value.response["quotaCode"] == "sandbox-max-concurrent-jobs"

    sandbox.advance(TO_LAUNCHED)  # jobs complete: capacity is back
    launch(ids[4:6])


def test_terminate_jobs_count_against_the_same_quotas(small_quotas: Any) -> None:
    sandbox, drs = small_quotas
    drs.initialize_service()
    ids = [seed(f"t-{n}", ip=f"172.31.2.{n + 10}").source_server_id for n in range(4)]
    drs.start_recovery(sourceServers=[{"sourceServerID": i} for i in ids[:3]], isDrill=True)
    sandbox.advance(TO_LAUNCHED)
    instances = [i["recoveryInstanceID"] for i in drs.describe_recovery_instances()["items"]]
    drs.start_recovery(sourceServers=[{"sourceServerID": ids[3]}], isDrill=True)
    with pytest.raises(ClientError) as excinfo:  # 4 ids in one job > 3
        drs.terminate_recovery_instances(recoveryInstanceIDs=instances + ["i-0000000000000000f"])
    assert excinfo.value.response["quotaCode"] == "sandbox-max-source-servers-per-job"
    drs.terminate_recovery_instances(recoveryInstanceIDs=instances)
    with pytest.raises(ClientError) as excinfo:  # already being terminated
        drs.terminate_recovery_instances(recoveryInstanceIDs=instances[:1])
    assert excinfo.value.response["Error"]["Code"] == "ConflictException"
    assert excinfo.value.response["resourceId"] == instances[0]
