"""slsa_models/verify/local.py: the whole report of a local-builder verification that passes.

Written against mutants of the module that survived scripts/mutation.py: a passing check's
name, expectation and (empty) detail, and the report's subjects, are part of the report users
and the deployment record read.
"""

from __future__ import annotations

from pathlib import Path

from slsa_models.digest import sha256_file
from slsa_models.provenance.keys import key_hint, load_public_key
from slsa_models.provenance.statement import LOCAL_BUILD_TYPE
from tests.test_verify_keys import BUILDER, COMMIT, signed, trusted, verify
from tests.test_verify_keys import artifact_file as model_file  # noqa: F401 (a fixture)
from tests.test_verify_keys import keys as key_pairs  # noqa: F401 (a fixture)


def test_every_check_of_a_passing_report_is_named_with_what_it_found(
    key_pairs: dict[str, tuple[Path, Path]], model_file: Path,  # noqa: F811 (the imported fixtures)
) -> None:
    hint = key_hint(load_public_key(key_pairs["builder"][1]))
    digest = sha256_file(model_file)
    report = verify(signed(key_pairs, model_file), model_file,
                    trusted(key_pairs, source_uri="github.com/acme/models"))
    assert report.passed
    assert [(c.name, c.passed, c.expected, c.actual, c.detail) for c in report.checks] == [
        ("signature", True, "a DSSE signature by a trusted key (builder)",
         f"signed by builder (key hint {hint[:16]})", ""),
        ("key-hint", True, hint, hint, ""),
        ("statement", True, "an in-toto Statement v1 with SLSA v1 provenance",
         f"https://slsa.dev/provenance/v1 ({LOCAL_BUILD_TYPE})", ""),
        ("builder-id", True, BUILDER, BUILDER, ""),
        ("source-uri", True, "git+https://github.com/acme/models", "git+https://github.com/acme/models", ""),
        ("subject-digest", True, f"sha256:{digest}", "subject model.keras", ""),
    ]
    assert report.subjects == (("model.keras", digest),)
    assert (report.source_uri, report.commit) == ("git+https://github.com/acme/models", COMMIT)
