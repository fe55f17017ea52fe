"""Start-up: a command imports what it uses, not every command's modules.

``verify-signature`` on a model is compared with ``model_signing verify`` as a whole
command (``benchmarks/bench_oms.py``), so its start-up is part of its speed. Each
check runs in a fresh interpreter, where ``sys.modules`` shows what was imported.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

PROBE = """
import json, sys
{setup}
print(json.dumps(sorted(sys.modules)))
"""


def imported_after(setup: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", PROBE.format(setup=setup)], capture_output=True,
                          text=True, timeout=120, check=True)
    return set(json.loads(done.stdout))


def test_a_command_line_sets_up_only_the_command_it_names() -> None:
    modules = imported_after("from slsa_models.cli import build_parser\n"
                             "build_parser(['verify-signature', 'key', '--help'])")
    assert "slsa_models.commands.verify_signature" in modules
    assert not {"slsa_models.commands.pull", "slsa_models.commands.stack", "slsa_models.commands.attest",
                "slsa_models.commands.verify_artifact", "slsa_models.formats"} & modules


def test_without_a_command_line_every_command_is_set_up() -> None:
    modules = imported_after("from slsa_models.cli import build_parser\nbuild_parser()")
    assert {"slsa_models.commands.attest", "slsa_models.commands.verify_signature",
            "slsa_models.commands.pull"} <= modules


@pytest.mark.parametrize("module", ["slsa_models.oms.verify", "slsa_models.verify.report",
                                    "slsa_models.verify.policy"])
def test_key_verification_does_not_import_x509_or_the_slsa_verifier(module: str) -> None:
    """x509 is for certificates and the SLSA kinds; a key-signed OMS check needs neither."""
    modules = imported_after(f"import {module}")
    assert not {"cryptography.x509", "slsa_models.verify.api", "slsa_models.verify.checks",
                "sigstore", "importlib.metadata"} & modules


def test_the_package_still_exports_every_name_it_lists() -> None:
    import slsa_models.verify as package

    assert sorted(package.__all__) == sorted(package._EXPORTS)  # every listed name is exported, lazily
    for name in package.__all__:
        assert getattr(package, name) is not None, name
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        _ = package.nope
