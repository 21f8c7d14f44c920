"""Which fields are secret is written once, in the spec models: adding a secret field there is
enough for every layer (issue 16.1).

The test makes that one edit for real: it copies the package, adds a ``totp_seed: SecretRef``
field to ``BasicAuthentication`` in the copy's ``spec/models.py`` and nowhere else, then runs
every consumer of the secret fields in a subprocess importing the copy.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from acumatica_datasource.spec import SECRET_PATHS

PACKAGE = Path(__file__).resolve().parents[2] / "provider" / "acumatica_datasource"
TOTP = "Totp-Seed-4b1e77-value"

CONSUMERS = textwrap.dedent(
    """
    import json, os, sys
    from acumatica_datasource.resource import properties, resource
    from acumatica_datasource.resource.lifecycle import DataSourceLifecycle
    from acumatica_datasource.secrets import SecretResolver
    from acumatica_datasource.spec import SECRET_PATHS, DataSource
    from acumatica_datasource.spec.references import INLINE_CONTEXT
    from acumatica_datasource.verify import VerifyOptions, verify_data_source

    auth = {"strategy": "basic", "username": "admin", "password": {"env": "PW"}}
    document = {"description": "Totp", "url": "http://127.0.0.1:9", "company": "ACME",
                "operation_timeout": 2, "authentication": {**auth, "totp_seed": {"env": "TOTP"}}}
    source = DataSource.model_validate(document)
    result = {"paths": [list(p) for p in SECRET_PATHS],
              "spec": [list(p) for p in source.secret_references()],
              "properties": [list(p) for p in properties.secret_references(source)]}
    try:
        DataSource.model_validate({**document, "authentication": {**auth, "totp_seed": "x"}})
    except ValueError as exc:
        result["literal_refused"] = "must not be written in the file" in str(exc)
    try:
        resource._guarded({**auth, "totp_seed": "plain"}, "authentication")
    except TypeError as exc:
        result["guard"] = str(exc).split(":")[0]
    lifecycle = DataSourceLifecycle()
    inline = {**document, "verification_settings": {"mode": "off"},
              "authentication": {**auth, "totp_seed": os.environ["TOTP"]}}
    news = lifecycle.check(inline).inputs
    recorded = lifecycle.create(news)
    result["recorded"] = recorded["authentication"]["totp_seed"]
    result["unchanged"] = not lifecycle.diff("totp", recorded, news).changed
    other = {**news, "authentication": {**news["authentication"], "totp_seed": "another"}}
    result["changed"] = [list(c.path) for c in lifecycle.diff("totp", recorded, other).changes]
    with SecretResolver(None) as resolver:
        report = verify_data_source(source, callback_url=None, secrets=resolver,
                                    options=VerifyOptions())
    result["verified"] = sorted(report.secret_versions)
    from acumatica_datasource.resource.package_schema import package_schema
    basic = package_schema()["types"]["acumatica:index:BasicAuthentication"]
    result["schema"] = basic["properties"]["totpSeed"]["oneOf"]
    print(json.dumps(result, default=str))
    """
)


def test_the_real_secret_paths() -> None:
    assert SECRET_PATHS == (
        ("authentication", "password"),
        ("authentication", "client_secret"),
        ("verification", "login", "password"),
        ("verification", "login", "client_secret"),
        ("verification", "refresh_token"),
    )


def test_adding_a_secret_field_in_the_model_is_enough(tmp_path: Path) -> None:
    copy = tmp_path / "acumatica_datasource"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    models = copy / "spec" / "models.py"
    text = models.read_text()
    anchor = '    strategy: Literal["basic"]\n    username: Text\n    password: SecretRef\n'
    assert anchor in text
    models.write_text(text.replace(anchor, anchor + "    totp_seed: SecretRef | None = None\n"))

    env = {**os.environ, "PYTHONPATH": str(tmp_path), "PW": "Pw-unused", "TOTP": TOTP}
    run = subprocess.run(
        [sys.executable, "-c", CONSUMERS],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])

    new_path = ["authentication", "totp_seed"]
    assert new_path in result["paths"]
    assert new_path in result["spec"]
    assert new_path in result["properties"]
    assert result["literal_refused"] is True
    assert result["guard"] == "authentication.totp_seed"
    assert "pulumi_secret" in result["recorded"]  # a fingerprint, not the value
    assert TOTP not in run.stdout
    assert result["unchanged"] is True
    assert result["changed"] == [new_path]
    assert result["verified"] == ["env:PW", "env:TOTP"]
    assert result["schema"] == [
        {"type": "string"},
        {"$ref": "#/types/acumatica:index:SecretReference"},
    ]
