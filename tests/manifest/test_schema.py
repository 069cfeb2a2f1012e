"""The manifest JSON Schema: valid, shipped, and accepting the TRS 2.0 shape."""

from __future__ import annotations

import json
import os

import jsonschema
import yaml

from drorch.manifest import load_manifest, problems_in, schema
from tests.manifest.conftest import EXAMPLES, REPO, TRS_EXAMPLE


def test_schema_is_draft_2020_12_with_an_id():
    document = schema()
    jsonschema.Draft202012Validator.check_schema(document)
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert document["$id"] == "https://drorch.dev/schemas/manifest.schema.json"
    assert document["title"] and document["description"]


def test_schema_ships_in_manifests_schema_as_a_relative_link():
    link = REPO / "manifests" / "schema" / "manifest.schema.json"
    assert link.is_symlink()
    assert not os.path.isabs(os.readlink(link))
    assert json.loads(link.read_text()) == schema()


def test_schema_accepts_the_trs_2_0_example_as_is():
    errors = list(jsonschema.Draft202012Validator(schema()).iter_errors(TRS_EXAMPLE))
    assert errors == []
    # its technologies are TRS types, not drorch modules: only the registry check objects
    assert problems_in(TRS_EXAMPLE, modules={}) == []


def test_trs_2_0_example_loads_with_its_conventions_mapped():
    manifest = load_manifest(TRS_EXAMPLE, modules={})
    assert manifest.application == "customerx-production"
    assert manifest.approval.required is True
    assert manifest.approval.timeout_minutes == 30  # 1800 s
    assert manifest.approval.approvers == ("manager@example.com", "director@example.com")
    assert manifest.notifications.emails == ("team@example.com",)
    (check,) = manifest.health_checks  # TRS endpoints become HTTP checks at the end of the run
    assert (check.type, check.parameters, check.timeout_minutes) == (
        "http-check",
        {"url": "https://app.example.com/health", "expectedStatus": 200},
        5,
    )
    # a TRS phase list filters every operation's defaults
    assert manifest.phases_for("failback") == ("REPLICATE", "INSTANTIATE", "ACTIVATE")
    assert manifest.phases_for("cleanup") == ("CLEANUP",)
    # no selector: resources come by their dr:wave tag, scoped to the customer and environment
    web = manifest.wave("Web Tier")
    assert web.depends_on == ("Application Tier",)
    assert web.pause_before is False
    assert [g.id for g in web.groups] == ["web-tier-drs-0", "web-tier-infrastructure-1"]
    assert web.groups[0].selector.tags == {
        "dr:wave": "3",
        "Customer": "CustomerX",
        "Environment": "production",
    }


def test_every_example_names_the_schema_for_editors():
    for path in sorted(EXAMPLES.glob("*.yaml")):
        first = path.read_text().splitlines()[0]
        assert first == "# yaml-language-server: $schema=../schema/manifest.schema.json", path
        assert yaml.safe_load(path.read_text())["manifestVersion"] == "2.0"
