"""The sandbox's state saved to a file and put back (``drorch sandbox up --state-dir``).

Here in one process: a sandbox is saved, stopped (moto's backends are emptied), and a
new sandbox restores the file. The endpoint's own round trip (``sandbox down`` then
``sandbox up --state-dir``) is in ``test_endpoint.py`` (opt-in: ``-m endpoint``).
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from drorch import names
from drorch.engine import aws
from drorch.sandbox import Sandbox, SimClock, persistence
from drorch.sandbox.drs.models import drs_backends


def _function_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


def test_a_saved_sandbox_comes_back_whole(tmp_path: Path, staging_accounts) -> None:
    account = staging_accounts["staging-data"]
    with Sandbox(strict=True) as first:
        first.provision_account(account)
        first.advance(3600)
        operator = first.operator_session()
        s3 = operator.client("s3")
        s3.create_bucket(
            Bucket="kept", CreateBucketConfiguration={"LocationConstraint": first.hub.region}
        )
        s3.put_object(Bucket="kept", Key="a.txt", Body=b"still here")
        operator.client("ssm").put_parameter(Name="/kept/value", Value="42", Type="String")
        kms = operator.client("kms")
        key = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
        signed = kms.sign(KeyId=key, Message=b"drill", SigningAlgorithm="RSASSA_PSS_SHA_256")[
            "Signature"
        ]
        operator.client("lambda").create_function(
            FunctionName="kept",
            Runtime="python3.12",
            Role=names.role_arn(first.hub.account_id, names.ORCHESTRATOR_ROLE),
            Handler="handler.handler",
            Code={"ZipFile": _function_zip()},
        )
        drs = first.execution_session(account.account_id).client("drs")
        templates = drs.describe_launch_configuration_templates()["items"]
        saved_now = first.now()
        path = persistence.save(
            lambda: persistence.capture(first, {"note": "kept"}),
            tmp_path / persistence.SNAPSHOT_FILE,
        )
    assert path.stat().st_mode & 0o777 == 0o600  # the operator's credentials are in it
    assert account.account_id not in drs_backends  # the first sandbox is gone

    snapshot = persistence.load(path)
    assert snapshot.extra == {"note": "kept"}
    with Sandbox(hub=snapshot.hub, clock=SimClock(start=snapshot.clock_start)) as second:
        with pytest.raises(ClientError):
            second.operator_session().client("s3").head_bucket(Bucket="kept")
        persistence.restore(second, snapshot)

        assert second.now() == saved_now
        assert set(second.accounts) == {account.account_id}
        operator = second.operator_session()
        body = operator.client("s3").get_object(Bucket="kept", Key="a.txt")["Body"].read()
        assert body == b"still here"
        value = operator.client("ssm").get_parameter(Name="/kept/value")["Parameter"]["Value"]
        assert value == "42"
        verified = operator.client("kms").verify(
            KeyId=key,
            Message=b"drill",
            Signature=signed,
            SigningAlgorithm="RSASSA_PSS_SHA_256",
        )
        assert verified["SignatureValid"] is True  # the same private key
        function = operator.client("lambda").get_function(FunctionName="kept")
        assert function["Configuration"]["Handler"] == "handler.handler"
        # the staging account's roles and its ExternalId still hold; DRS is as it was
        drs = second.execution_session(account.account_id).client("drs")
        assert drs.describe_launch_configuration_templates()["items"] == templates
        assert second.state.fidelity.violations == []


def test_a_snapshot_restored_twice_in_one_process_reaches_the_staging_accounts(
    tmp_path: Path, staging_accounts
) -> None:
    """The engine caches the sessions it assumes, by the caller's key. Restored twice, one
    snapshot gives the same operator key, but a session assumed after the snapshot was
    taken does not exist in the second restore: it must be assumed afresh, not answered
    by moto as its default account (where DRS is not initialised)."""
    account = staging_accounts["staging-data"]
    access = aws.AccountAccess(
        account_id=account.account_id,
        name=account.name,
        recovery_region=account.recovery_region,
        source_region=account.source_region,
        execution_role_arn=account.execution_role_arn,
        external_id=account.external_id,
    )
    with Sandbox(strict=True) as first:
        first.provision_account(account)
        path = persistence.save(
            lambda: persistence.capture(first), tmp_path / persistence.SNAPSHOT_FILE
        )
    for _ in range(2):
        snapshot = persistence.load(path)
        with Sandbox(hub=snapshot.hub, clock=SimClock(start=snapshot.clock_start)) as restored:
            persistence.restore(restored, snapshot)
            session = aws.assume(access, source=restored.operator_session())
            assert session.client("sts").get_caller_identity()["Account"] == account.account_id
            assert session.client("drs").describe_source_servers()["items"] == []


def test_a_snapshot_of_another_version_is_refused(tmp_path: Path, monkeypatch) -> None:
    with Sandbox() as sandbox:
        path = persistence.save(
            lambda: persistence.capture(sandbox), tmp_path / persistence.SNAPSHOT_FILE
        )
    changed = persistence.versions() | {"fakes": "0" * 16}
    monkeypatch.setattr(persistence, "versions", lambda: changed)
    with pytest.raises(persistence.SnapshotError, match=r"this is drorch .*fakes 0{16}.*changed"):
        persistence.load(path)


def test_a_file_that_is_no_snapshot_is_refused(tmp_path: Path) -> None:
    path = tmp_path / persistence.SNAPSHOT_FILE
    path.write_text(json.dumps({"not": "a snapshot"}))
    with pytest.raises(persistence.SnapshotError, match="not a readable sandbox state"):
        persistence.load(path)
