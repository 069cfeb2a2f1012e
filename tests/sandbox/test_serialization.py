"""moto's serializer with its member look-ups remembered (drorch.sandbox.serialization)
writes the same bytes as moto's own: every response below is written twice, once as the
sandbox writes it and once with moto's own ``get_value``, and the two must be equal."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.core.serialize import (
    QuerySerializer,
    ResponseSerializer,
    SerializationContext,
    XFormedAttributePicker,
)
from moto.core.utils import get_service_model

from drorch.sandbox import activity, serialization
from tests.tables import pk_sk

REGION = "us-east-2"


@contextmanager
def moto_own() -> Iterator[None]:
    """moto's own serializer methods, for the moment (this process only)."""
    patched = ResponseSerializer.get_value, ResponseSerializer._serialize_type_structure
    ResponseSerializer.get_value = serialization._original
    ResponseSerializer._serialize_type_structure = serialization._original_structure
    try:
        yield
    finally:
        ResponseSerializer.get_value, ResponseSerializer._serialize_type_structure = patched


class Twin:
    """Writes every response moto serializes a second time with moto's own look-ups."""

    def __init__(self, serialize: Any) -> None:
        self._serialize = serialize  # moto's ResponseSerializer.serialize
        self.compared: list[str] = []  # "service.Operation" of each response compared
        self.differences: list[tuple[str, Any, Any]] = []
        self._lock = threading.Lock()

    def check(self, serializer: Any, result: Any, written: Any) -> None:
        operation = serializer.operation_model
        again = type(serializer)(
            operation_model=operation,
            context=serializer.context,
            pretty_print=serializer.pretty_print,
            value_picker=serializer._value_picker,
        )
        with self._lock, moto_own():
            expected = self._serialize(again, result)
        name = f"{operation.service_model.service_name}.{operation.name}"
        self.compared.append(name)
        if written != expected:
            self.differences.append((name, written, expected))


@pytest.fixture
def twin(shared_sandbox: Any) -> Iterator[Twin]:
    assert ResponseSerializer.get_value is not serialization._original  # installed by start()
    serialize = ResponseSerializer.serialize
    twin = Twin(serialize)

    def serialize_twice(self: Any, result: Any) -> Any:
        written = serialize(self, result)
        twin.check(self, result, written)
        return written

    ResponseSerializer.serialize = serialize_twice  # type: ignore[method-assign]
    try:
        yield twin
    finally:
        ResponseSerializer.serialize = serialize  # type: ignore[method-assign]
    assert twin.differences == []


NESTED = {
    "pk": {"S": "p"},
    "n": {"N": "-12.50"},
    "big": {"N": "123456789012345678901234567890"},
    "bin": {"B": b"\x00\xff binary \x01"},
    "bs": {"BS": [b"\x00", b"\x01\x02"]},
    "ss": {"SS": ["b", "a", "é"]},
    "ns": {"NS": ["1", "2.5", "-3"]},
    "null": {"NULL": True},
    "yes": {"BOOL": True},
    "no": {"BOOL": False},
    "list": {"L": [{"S": "x"}, {"N": "1"}, {"L": [{"BOOL": False}, {"M": {}}]}, {"NULL": True}]},
    "map": {
        "M": {
            "Meta": {"S": "a key moto's aliases might read"},
            "S": {"M": {"N": {"S": "keys that are member names"}}},
            "deep": {"M": {"l": {"L": [{"M": {"b": {"B": b"\x02"}, "s": {"SS": ["z"]}}}]}}},
            "empty": {"S": ""},
        }
    },
}


def _table(env: Any) -> Any:
    client = env.sandbox.admin_session(env.account, REGION).client("dynamodb")
    client.create_table(TableName="items", **pk_sk("N"))
    return client


def test_dynamodb_reads_and_writes_of_nested_items(env: Any, twin: Twin) -> None:
    client = _table(env)
    for sk in range(3):
        client.put_item(TableName="items", Item={**NESTED, "sk": {"N": str(sk)}})
    key = {"pk": {"S": "p"}, "sk": {"N": "1"}}
    got = client.get_item(TableName="items", Key=key)["Item"]
    assert got["map"]["M"]["deep"]["M"]["l"]["L"][0]["M"]["b"]["B"] == b"\x02"
    assert got["bin"]["B"] == NESTED["bin"]["B"] and got["no"] == {"BOOL": False}
    client.get_item(
        TableName="items",
        Key=key,
        ProjectionExpression="#m.deep, ns",
        ExpressionAttributeNames={"#m": "map"},
    )
    client.get_item(TableName="items", Key={"pk": {"S": "p"}, "sk": {"N": "9"}})  # no item
    query = client.query(
        TableName="items",
        KeyConditionExpression="pk = :p AND sk > :s",
        ExpressionAttributeValues={":p": {"S": "p"}, ":s": {"N": "0"}},
        Limit=1,
        ReturnConsumedCapacity="TOTAL",
    )
    assert query["LastEvaluatedKey"] and query["Count"] == 1
    assert len(client.scan(TableName="items")["Items"]) == 3
    for returns in ("ALL_OLD", "ALL_NEW", "UPDATED_OLD", "UPDATED_NEW"):
        client.update_item(
            TableName="items",
            Key=key,
            UpdateExpression="SET #m.added = :v, n = n + :one ADD ss :s",
            ExpressionAttributeNames={"#m": "map"},
            ExpressionAttributeValues={
                ":v": {"M": {"x": {"L": [{"B": b"\x03"}]}}},
                ":one": {"N": "1"},
                ":s": {"SS": ["c"]},
            },
            ReturnValues=returns,
        )
    client.batch_get_item(
        RequestItems={
            "items": {
                "Keys": [{"pk": {"S": "p"}, "sk": {"N": str(sk)}} for sk in range(4)],
                "ProjectionExpression": "pk, sk, #l",
                "ExpressionAttributeNames": {"#l": "list"},
            }
        }
    )
    client.delete_item(
        TableName="items", Key={"pk": {"S": "p"}, "sk": {"N": "2"}}, ReturnValues="ALL_OLD"
    )
    names = set(twin.compared)
    assert {
        f"dynamodb.{op}" for op in ("GetItem", "Query", "Scan", "UpdateItem", "BatchGetItem")
    } <= names


def test_a_cancelled_transaction_and_its_reasons(env: Any, twin: Twin) -> None:
    client = _table(env)
    client.put_item(TableName="items", Item={**NESTED, "sk": {"N": "1"}})
    with pytest.raises(ClientError) as refused:
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "items", "Item": {"pk": {"S": "p"}, "sk": {"N": "5"}}}},
                {
                    "Update": {
                        "TableName": "items",
                        "Key": {"pk": {"S": "p"}, "sk": {"N": "1"}},
                        "UpdateExpression": "SET n = :n",
                        "ConditionExpression": "attribute_not_exists(pk)",
                        "ExpressionAttributeValues": {":n": {"N": "2"}},
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                },
            ]
        )
    error = refused.value.response
    assert error["Error"]["Code"] == "TransactionCanceledException"
    reasons = error["CancellationReasons"]
    assert [r["Code"] for r in reasons] == ["None", "ConditionalCheckFailed"]
    assert reasons[1]["Item"]["map"]["M"]["S"] == {"M": {"N": {"S": "keys that are member names"}}}
    # moto writes this error's body itself (not with its serializer): nothing to compare,
    # but the reasons above are read back through the sandbox as they always were
    assert "dynamodb.PutItem" in twin.compared


def test_sts(env: Any, twin: Twin) -> None:
    session = env.sandbox.admin_session(env.account, REGION)
    sts = session.client("sts")
    assert sts.get_caller_identity()["Account"] == env.account
    iam = session.client("iam")
    role = iam.create_role(
        RoleName="serial",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
                ],
            }
        ),
    )["Role"]
    assumed = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="serial", DurationSeconds=900)
    assert assumed["Credentials"]["AccessKeyId"]
    assert {"sts.GetCallerIdentity", "sts.AssumeRole"} <= set(twin.compared)


def test_step_functions(env: Any, twin: Twin) -> None:
    session = env.sandbox.admin_session(env.account, REGION)
    sfn = session.client("stepfunctions")
    definition = {
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "Result": {"x": [1, {"y": "z"}]}, "End": True}},
    }
    machine = sfn.create_state_machine(
        name="serial",
        definition=json.dumps(definition),
        roleArn=f"arn:aws:iam::{env.account}:role/sfn",
    )["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=machine, name="run-1", input='{"a": {"b": [1]}}')[
        "executionArn"
    ]
    # re-checked whenever the interpreter changes something (an execution's end), no sleep
    activity.wait_for(
        lambda: sfn.describe_execution(executionArn=arn)["status"] != "RUNNING", timeout=20
    )
    described = sfn.describe_execution(executionArn=arn)
    assert described["status"] == "SUCCEEDED"
    assert sfn.get_execution_history(executionArn=arn)["events"]
    sfn.list_executions(stateMachineArn=machine)
    with pytest.raises(ClientError):  # an error, written by the serializer
        sfn.describe_execution(executionArn=arn + "-missing")
    assert {"stepfunctions.DescribeExecution", "stepfunctions.GetExecutionHistory"} <= set(
        twin.compared
    )


def test_s3_and_ec2(env: Any, twin: Twin) -> None:
    session = env.sandbox.admin_session(env.account, REGION)
    s3 = session.client("s3")
    s3.create_bucket(
        Bucket=f"serial-{env.account}", CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    for key in ("a/1", "a/2", "b & <c>"):
        s3.put_object(Bucket=f"serial-{env.account}", Key=key, Body=b"x")
    listed = s3.list_objects_v2(
        Bucket=f"serial-{env.account}", Prefix="a/", Delimiter="/", MaxKeys=1
    )
    assert listed["KeyCount"] == 1
    s3.list_objects_v2(Bucket=f"serial-{env.account}")
    ec2 = env.ec2()
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    ec2.run_instances(
        ImageId=image,
        MinCount=2,
        MaxCount=2,
        InstanceType="t3.micro",
        TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "a & b"}]}
        ],
    )
    reservations = ec2.describe_instances()["Reservations"]
    assert sum(len(r["Instances"]) for r in reservations) >= 2
    assert "ec2.DescribeInstances" in twin.compared


class Meta:
    serialization_aliases = {"Account": "owner"}


class Identity:
    """An object moto reads by its explicit alias, its class name prefix and xform_name."""

    Meta = Meta

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.user_id = "AIDA"  # UserId, as xform_name spells it
        self.Arn = "arn:aws:iam::1:user/x"


class IdentityArn:
    """Class name "IdentityArn": moto's ClassPrefixAlias does not apply to "Arn"."""

    def __init__(self) -> None:
        self.Account = "222"
        self.Arn = "arn:b"


def _write(result: Any, original: bool) -> Any:
    operation = get_service_model("sts").operation_model("GetCallerIdentity")
    serializer = QuerySerializer(
        operation_model=operation,
        context=SerializationContext("r"),
        value_picker=XFormedAttributePicker(),
    )
    if not original:
        return serializer.serialize(result)
    with moto_own():
        return serializer.serialize(result)


def test_what_is_remembered_is_never_the_value(shared_sandbox: Any) -> None:
    """The same member read from objects of other classes, with and without an explicit
    alias (on the class or on one object), and from dicts, comes out as moto writes it."""
    plain = Identity("111")
    renamed = Identity("333")
    renamed.Meta = type("Meta", (), {"serialization_aliases": {"Account": "user_id"}})
    results = [
        plain,
        IdentityArn(),
        renamed,
        plain,
        {"Account": "444", "user_id": "U", "Arn": "a"},
        {"account": "555"},
        {"Account": None, "account": "666"},
    ]
    for _ in range(2):  # the second round reads what the first remembered
        for result in results:
            written, expected = _write(result, False), _write(result, True)
            assert written == expected
    assert "<Account>111</Account>" in _write(plain, False)["body"]
    assert "<Account>AIDA</Account>" in _write(renamed, False)["body"]
    assert "<UserId>AIDA</UserId>" in _write(plain, False)["body"]


def test_blobs_are_base64_on_the_wire(env: Any, twin: Twin) -> None:
    client = _table(env)
    raw: dict[str, Any] = {}

    def keep(http_response: Any, **_: Any) -> None:
        raw["body"] = http_response.content

    client.meta.events.register("after-call.dynamodb.GetItem", keep)
    client.put_item(
        TableName="items", Item={"pk": {"S": "p"}, "sk": {"N": "0"}, "b": {"B": b"\xfe"}}
    )
    client.get_item(TableName="items", Key={"pk": {"S": "p"}, "sk": {"N": "0"}})
    assert json.loads(raw["body"])["Item"]["b"] == {"B": base64.b64encode(b"\xfe").decode()}


def test_install_is_once_and_uninstall_puts_moto_back(shared_sandbox: Any) -> None:
    patched = ResponseSerializer.get_value, ResponseSerializer._serialize_type_structure
    moto = serialization._original, serialization._original_structure
    serialization.install()  # a second start: nothing changes
    assert (ResponseSerializer.get_value, ResponseSerializer._serialize_type_structure) == patched
    serialization.uninstall()
    try:
        assert (ResponseSerializer.get_value, ResponseSerializer._serialize_type_structure) == moto
    finally:
        serialization.install()
    assert ResponseSerializer.get_value is not moto[0]
    assert _write(Identity("7"), False) == _write(Identity("7"), True)


def test_sqs(env: Any, twin: Twin) -> None:
    sqs = env.sandbox.admin_session(env.account, REGION).client("sqs")
    url = sqs.create_queue(QueueName="serial", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    sqs.send_message(
        QueueUrl=url,
        MessageBody='{"a": "<b & c>"}',
        MessageAttributes={
            "s": {"DataType": "String", "StringValue": "x"},
            "b": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )
    received = sqs.receive_message(
        QueueUrl=url, MessageAttributeNames=["All"], MessageSystemAttributeNames=["All"]
    )["Messages"]
    assert received[0]["MessageAttributes"]["b"]["BinaryValue"] == b"\x00\x01"
    sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
    assert "sqs.ReceiveMessage" in twin.compared
