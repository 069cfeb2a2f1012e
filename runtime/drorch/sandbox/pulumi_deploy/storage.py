"""Creators for the hub's stores: KMS keys, S3 buckets and their settings, DynamoDB tables."""

from __future__ import annotations

import json
from typing import Any

from drorch.sandbox.pulumi_deploy.base import Clients, Creator, Record, Target, as_int, tag_list


def insecure_transport_only(statement: dict) -> bool:
    """A statement that only matches requests without TLS."""
    condition = statement.get("Condition") or {}
    flags = condition.get("Bool") or {}
    return set(condition) == {"Bool"} and str(flags.get("aws:SecureTransport")).lower() == "false"


# --- KMS ----------------------------------------------------------------------------------


def kms_key(d: Record, s: Clients, t: Target, name: str, i: dict) -> tuple[str, dict]:
    kms = s.client("kms")
    kwargs: dict[str, Any] = {"Description": i.get("description", ""), "Tags": []}
    if i.get("policy"):
        kwargs["Policy"] = i["policy"]
    kwargs["Tags"] = [{"TagKey": k, "TagValue": v} for k, v in (i.get("tags") or {}).items()]
    meta = kms.create_key(**kwargs)["KeyMetadata"]
    if i.get("enableKeyRotation"):
        kms.enable_key_rotation(KeyId=meta["KeyId"])
    return meta["KeyId"], {"arn": meta["Arn"], "keyId": meta["KeyId"]}


def kms_alias(d: Record, s: Clients, t: Target, name: str, i: dict) -> tuple[str, dict]:
    s.client("kms").create_alias(AliasName=i["name"], TargetKeyId=i["targetKeyId"])
    arn = f"arn:aws:kms:{t.region}:{t.account_id}:{i['name']}"
    return i["name"], {"arn": arn, "targetKeyArn": i["targetKeyId"]}


# --- S3 -----------------------------------------------------------------------------------


def bucket(d: Record, s: Clients, t: Target, name: str, i: dict) -> tuple[str, dict]:
    bucket = i["bucket"]
    kwargs: dict[str, Any] = {"Bucket": bucket}
    if t.region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": t.region}
    s3 = s.client("s3")
    s3.create_bucket(**kwargs)
    if i.get("tags"):
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tag_list(i["tags"])})
    return bucket, {
        "arn": f"arn:aws:s3:::{bucket}",
        "bucketDomainName": f"{bucket}.s3.amazonaws.com",
        "region": t.region,
    }


def public_access(d: Record, s: Clients, t: Target, name: str, i: dict) -> tuple[str, dict]:
    s.client("s3").put_public_access_block(
        Bucket=i["bucket"],
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": bool(i.get("blockPublicAcls")),
            "IgnorePublicAcls": bool(i.get("ignorePublicAcls")),
            "BlockPublicPolicy": bool(i.get("blockPublicPolicy")),
            "RestrictPublicBuckets": bool(i.get("restrictPublicBuckets")),
        },
    )
    return i["bucket"], {}


def versioning(d: Record, s: Clients, t: Target, name: str, i: dict) -> tuple[str, dict]:
    status = (i.get("versioningConfiguration") or {}).get("status", "Enabled")
    s.client("s3").put_bucket_versioning(
        Bucket=i["bucket"], VersioningConfiguration={"Status": status}
    )
    return i["bucket"], {}


def bucket_encryption(d: Record, s: Clients, t: Target, name: str, i: dict) -> tuple[str, dict]:
    rules = []
    for rule in i.get("rules") or []:
        default = rule.get("applyServerSideEncryptionByDefault") or {}
        by_default = {"SSEAlgorithm": default.get("sseAlgorithm", "aws:kms")}
        if default.get("kmsMasterKeyId"):
            by_default["KMSMasterKeyID"] = default["kmsMasterKeyId"]
        rules.append(
            {
                "ApplyServerSideEncryptionByDefault": by_default,
                "BucketKeyEnabled": bool(rule.get("bucketKeyEnabled")),
            }
        )
    s.client("s3").put_bucket_encryption(
        Bucket=i["bucket"], ServerSideEncryptionConfiguration={"Rules": rules}
    )
    return i["bucket"], {}


def bucket_policy(d: Record, s: Clients, t: Target, name: str, i: dict) -> tuple[str, dict]:
    """moto enforces ``Principal: *`` statements but ignores their conditions, so the
    TLS-only Deny would refuse every request. Every sandbox request is made over TLS,
    where that statement never applies: it is kept in :attr:`Record.bucket_policies` and the
    rest of the policy is applied."""
    policy = json.loads(i["policy"])
    d.bucket_policies[i["bucket"]] = policy
    applied = [s_ for s_ in policy.get("Statement", []) if not insecure_transport_only(s_)]
    if applied:
        s.client("s3").put_bucket_policy(
            Bucket=i["bucket"], Policy=json.dumps({**policy, "Statement": applied})
        )
    return i["bucket"], {}


def lifecycle(d: Record, s: Clients, t: Target, name: str, i: dict) -> tuple[str, dict]:
    rules = []
    for rule in i.get("rules") or []:
        item: dict[str, Any] = {"ID": rule["id"], "Status": rule.get("status", "Enabled")}
        item["Filter"] = {"Prefix": (rule.get("filter") or {}).get("prefix", "")}
        if rule.get("expiration"):
            item["Expiration"] = {"Days": as_int(rule["expiration"].get("days"))}
        if rule.get("noncurrentVersionExpiration"):
            item["NoncurrentVersionExpiration"] = {
                "NoncurrentDays": as_int(rule["noncurrentVersionExpiration"]["noncurrentDays"])
            }
        rules.append(item)
    s.client("s3").put_bucket_lifecycle_configuration(
        Bucket=i["bucket"], LifecycleConfiguration={"Rules": rules}
    )
    return i["bucket"], {}


# --- DynamoDB -----------------------------------------------------------------------------


def table(d: Record, s: Clients, t: Target, name: str, i: dict) -> tuple[str, dict]:
    dynamodb = s.client("dynamodb")
    keys = [{"AttributeName": i["hashKey"], "KeyType": "HASH"}]
    if i.get("rangeKey"):
        keys.append({"AttributeName": i["rangeKey"], "KeyType": "RANGE"})
    kwargs: dict[str, Any] = {
        "TableName": i["name"],
        "BillingMode": i.get("billingMode", "PAY_PER_REQUEST"),
        "AttributeDefinitions": [
            {"AttributeName": a["name"], "AttributeType": a["type"]}
            for a in i.get("attributes") or []
        ],
        "KeySchema": keys,
    }
    indexes = []
    for index in i.get("globalSecondaryIndexes") or []:
        schema = [{"AttributeName": index["hashKey"], "KeyType": "HASH"}]
        if index.get("rangeKey"):
            schema.append({"AttributeName": index["rangeKey"], "KeyType": "RANGE"})
        indexes.append(
            {
                "IndexName": index["name"],
                "KeySchema": schema,
                "Projection": {"ProjectionType": index.get("projectionType", "ALL")},
            }
        )
    if indexes:
        kwargs["GlobalSecondaryIndexes"] = indexes
    sse = i.get("serverSideEncryption") or {}
    if sse.get("enabled"):
        kwargs["SSESpecification"] = {"Enabled": True, "SSEType": "KMS"}
        if sse.get("kmsKeyArn"):
            kwargs["SSESpecification"]["KMSMasterKeyId"] = sse["kmsKeyArn"]
    if i.get("tags"):
        kwargs["Tags"] = tag_list(i["tags"])
    if i.get("deletionProtectionEnabled") is not None:
        kwargs["DeletionProtectionEnabled"] = bool(i["deletionProtectionEnabled"])
    table = dynamodb.create_table(**kwargs)["TableDescription"]
    ttl = i.get("ttl") or {}
    if ttl.get("enabled") and ttl.get("attributeName"):
        dynamodb.update_time_to_live(
            TableName=i["name"],
            TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["attributeName"]},
        )
    if (i.get("pointInTimeRecovery") or {}).get("enabled"):
        dynamodb.update_continuous_backups(
            TableName=i["name"],
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )
    return i["name"], {"arn": table["TableArn"]}


CREATORS: dict[str, Creator] = {
    "aws:kms/key:Key": kms_key,
    "aws:kms/alias:Alias": kms_alias,
    "aws:s3/bucket:Bucket": bucket,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": public_access,
    "aws:s3/bucketVersioning:BucketVersioning": versioning,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": bucket_encryption,
    "aws:s3/bucketPolicy:BucketPolicy": bucket_policy,
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": lifecycle,
    "aws:dynamodb/table:Table": table,
}
