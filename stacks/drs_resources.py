"""DRS set-up that pulumi-aws has no resource for, as Pulumi dynamic providers.

* :class:`DrsInitialization` — ``drs:InitializeService`` in an account and region
  (idempotent; DRS has no API to undo it, so delete leaves it initialised).
* :class:`LaunchConfigurationTemplate` — ``Create/Update/DeleteLaunchConfigurationTemplate``.

A dynamic provider runs in the Pulumi engine's process with the deployer's
credentials, not through an ``aws.Provider``: it assumes the staging account's
bootstrap role itself (``roleArn``), in the account's recovery region (``region``).
The providers are plain classes with boto3 calls, tested against the sandbox's DRS
fake by calling ``create``/``diff``/``update``/``delete`` directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi.dynamic as dynamic

SESSION_NAME = "drorch-deploy"
# UpdateLaunchConfigurationTemplate's settable fields (the DRS API's names)
LAUNCH_TEMPLATE_FIELDS = (
    "copyPrivateIp",
    "copyTags",
    "exportBucketArn",
    "launchDisposition",
    "launchIntoSourceInstance",
    "licensing",
    "postLaunchEnabled",
    "targetInstanceTypeRightSizingMethod",
)
# changing where the resource lives replaces it
PLACEMENT = ("region", "roleArn")


def drs_client(props: Mapping[str, Any]) -> Any:
    """A DRS client in the target account: the bootstrap role assumed when ``roleArn`` is set."""
    import boto3

    region = props["region"]
    role_arn = props.get("roleArn")
    if not role_arn:
        return boto3.client("drs", region_name=region)
    credentials = boto3.client("sts", region_name=region).assume_role(
        RoleArn=role_arn, RoleSessionName=SESSION_NAME
    )["Credentials"]
    return boto3.client(
        "drs",
        region_name=region,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def _error_code(error: Exception) -> str:
    response = getattr(error, "response", None) or {}
    return response.get("Error", {}).get("Code", "")


def _settings(props: Mapping[str, Any]) -> dict[str, Any]:
    settings = dict(props.get("settings") or {})
    unknown = sorted(set(settings) - set(LAUNCH_TEMPLATE_FIELDS))
    if unknown:
        raise ValueError(
            f"launch configuration template settings {', '.join(unknown)} are not DRS fields; "
            f"use: {', '.join(LAUNCH_TEMPLATE_FIELDS)}"
        )
    return settings


def _plain(value: Any) -> Any:
    """Pulumi may hand back numbers as floats and mappings as its own types."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


class LaunchConfigurationTemplateProvider(dynamic.ResourceProvider):
    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        request = _settings(props)
        drs = drs_client(props)
        tags = dict(props.get("tags") or {})
        if tags:
            request["tags"] = tags
        template = drs.create_launch_configuration_template(**_plain(request))[
            "launchConfigurationTemplate"
        ]
        template_id = template["launchConfigurationTemplateID"]
        return dynamic.CreateResult(
            id_=template_id,
            outs={**props, "templateId": template_id, "arn": template["arn"]},
        )

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.DiffResult:
        replaces = [k for k in PLACEMENT if olds.get(k) != news.get(k)]
        changed = [k for k in ("settings", "tags") if _plain(olds.get(k)) != _plain(news.get(k))]
        return dynamic.DiffResult(
            changes=bool(replaces or changed),
            replaces=replaces,
            delete_before_replace=True,
        )

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.UpdateResult:
        settings = _settings(news)
        drs = drs_client(news)
        drs.update_launch_configuration_template(
            launchConfigurationTemplateID=_id, **_plain(settings)
        )
        arn = olds.get("arn")
        old_tags, new_tags = dict(olds.get("tags") or {}), dict(news.get("tags") or {})
        removed = sorted(set(old_tags) - set(new_tags))
        if arn and removed:
            drs.untag_resource(resourceArn=arn, tagKeys=removed)
        if arn and new_tags and new_tags != old_tags:
            drs.tag_resource(resourceArn=arn, tags=new_tags)
        return dynamic.UpdateResult(outs={**news, "templateId": _id, "arn": arn})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        drs = drs_client(props)
        try:
            drs.delete_launch_configuration_template(launchConfigurationTemplateID=_id)
        except Exception as error:
            if _error_code(error) != "ResourceNotFoundException":
                raise

    def read(self, id_: str, props: dict[str, Any]) -> dynamic.ReadResult:
        drs = drs_client(props)
        items = drs.describe_launch_configuration_templates(
            launchConfigurationTemplateIDs=[id_]
        ).get("items", [])
        if not items:
            return dynamic.ReadResult(id_="", outs={})
        template = items[0]
        settings = {k: template[k] for k in LAUNCH_TEMPLATE_FIELDS if k in template}
        return dynamic.ReadResult(
            id_=id_,
            outs={
                **props,
                "settings": {
                    k: settings.get(k, v) for k, v in (props.get("settings") or {}).items()
                },
                "tags": template.get("tags", {}),
                "templateId": id_,
                "arn": template["arn"],
            },
        )


class DrsInitializationProvider(dynamic.ResourceProvider):
    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        drs_client(props).initialize_service()
        return dynamic.CreateResult(id_=f"drs-{props['accountId']}-{props['region']}", outs=props)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.DiffResult:
        replaces = [k for k in (*PLACEMENT, "accountId") if olds.get(k) != news.get(k)]
        return dynamic.DiffResult(changes=bool(replaces), replaces=replaces)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """DRS cannot be un-initialised through its API: nothing to do."""


class LaunchConfigurationTemplate(dynamic.Resource):
    template_id: pulumi.Output[str]
    arn: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        region: pulumi.Input[str],
        settings: Mapping[str, Any],
        role_arn: pulumi.Input[str] | None = None,
        tags: Mapping[str, str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        _settings({"settings": settings})  # a wrong field fails at preview, not at deploy
        super().__init__(
            LaunchConfigurationTemplateProvider(),
            name,
            {
                "region": region,
                "roleArn": role_arn,
                "settings": dict(settings),
                "tags": dict(tags or {}),
                "templateId": None,
                "arn": None,
            },
            opts,
        )


class DrsInitialization(dynamic.Resource):
    def __init__(
        self,
        name: str,
        *,
        account_id: str,
        region: pulumi.Input[str],
        role_arn: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            DrsInitializationProvider(),
            name,
            {"accountId": account_id, "region": region, "roleArn": role_arn},
            opts,
        )
