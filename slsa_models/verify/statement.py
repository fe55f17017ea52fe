"""In-toto statements carrying SLSA provenance, read into one normalized view.

Supported: in-toto Statement v0.1 and v1; SLSA v0.2 as written by
slsa-github-generator (generic and Go builders), and SLSA v1 as written by
GitHub artifact attestations (buildType ``actions.github.io/.../workflow/v1``
and the older ``slsa-framework.github.io/github-actions-buildtypes``);
for key-signed provenance (the local builder), Statement v1 with SLSA v1 only.
Only verified payloads reach this module. Where a field means something
subtle (which branch a tag build came from), slsa-verifier's reading is
followed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from slsa_models.errors import FieldError, StatementError
from slsa_models.kinds import KIND_GENERATOR, KIND_GITHUB_ATTESTATION, KIND_LOCAL

IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPES = frozenset({"https://in-toto.io/Statement/v0.1", "https://in-toto.io/Statement/v1"})
SLSA_V02 = "https://slsa.dev/provenance/v0.2"
SLSA_V1 = "https://slsa.dev/provenance/v1"

GENERATOR_BUILD_TYPES = frozenset({
    "https://github.com/slsa-framework/slsa-github-generator/generic@v1",
    "https://github.com/slsa-framework/slsa-github-generator/go@v1",
})
GITHUB_WORKFLOW_BUILD_TYPES = frozenset({
    "https://actions.github.io/buildtypes/workflow/v1",
    "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1",
})

STATEMENT_V1 = "https://in-toto.io/Statement/v1"




@dataclass(frozen=True, slots=True)
class Subject:
    name: str
    digest: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Provenance:
    """What the checks need, from either predicate version. Unknown values are None."""

    kind: str
    statement_type: str
    predicate_type: str
    build_type: str
    builder_id: str
    subjects: tuple[Subject, ...]
    trigger_uri: str | None  # git+https://github.com/o/r@ref: what triggered the build
    source_uri: str | None  # git+https://github.com/o/r@ref: the source material
    commits: tuple[tuple[str, str | None], ...]  # (field, commit) pairs that must all agree
    refs: tuple[tuple[str, str | None], ...]  # (field, ref) pairs that must all agree
    event_name: str | None
    repository_id: str | None
    owner_id: str | None
    invocation_uris: tuple[tuple[str, str | None], ...]  # (field, run URI) pairs
    workflow_uri: str | None  # https://github.com/o/r/<workflow path>@ref
    runner_environment: str | None
    environment: Mapping[str, Any] = field(default_factory=dict, repr=False)
    inputs_source: Any = field(default=None, repr=False)

    def subject_names(self) -> dict[str, str]:
        """sha256 hex (lowercase) -> subject name."""
        return {
            digest: subject.name
            for subject in self.subjects
            if (digest := subject.digest.get("sha256", "").lower())
        }

    @property
    def invocation(self) -> str | None:
        """The build run this provenance names: the first run URI or id it records."""
        return next((uri for _, uri in self.invocation_uris if uri), None)

    def subject_digests(self) -> tuple[tuple[str, str], ...]:
        """(name, sha256 hex) of every subject with a SHA-256 digest, in statement order."""
        return tuple((subject.name, digest) for subject in self.subjects
                     if (digest := subject.digest.get("sha256", "").lower()))

    @property
    def ref(self) -> str | None:
        """The git ref the build ran for."""
        return dict(self.refs).get("ref")

    def tag_ref(self) -> str:
        """The tag ref the build ran for ("" for a branch build); FieldError if unknown."""
        ref_type, ref = self._ref_type_and_ref()
        if ref_type == "branch":
            return ""
        if ref_type == "tag":
            return ref
        raise FieldError(f"unknown ref type {ref_type!r}")

    def branch_ref(self) -> str:
        """The branch ref: the ref itself for a branch build; for a tag build, the
        branch the event names (push: base_ref; release: target_commitish), else ""."""
        ref_type, ref = self._ref_type_and_ref()
        if ref_type == "branch":
            return ref
        if ref_type != "tag":
            raise FieldError(f"unknown ref type {ref_type!r}")
        if self.kind != KIND_GENERATOR:
            return ""
        base_ref = _string(self.environment, "github_base_ref")
        if base_ref:
            return base_ref
        payload = self.environment.get("github_event_payload")
        if not isinstance(payload, Mapping):
            raise FieldError("github_event_payload is missing")
        if self.event_name == "push":
            value = payload.get("base_ref")
            return value if isinstance(value, str) else ""
        if self.event_name == "release":
            release = payload.get("release")
            target = release.get("target_commitish") if isinstance(release, Mapping) else None
            if not isinstance(target, str):
                raise FieldError("release.target_commitish is missing")
            return "refs/heads/" + target
        return ""

    def workflow_inputs(self) -> Mapping[str, Any]:
        """The inputs of a workflow_dispatch run; FieldError otherwise."""
        if self.event_name != "workflow_dispatch":
            raise FieldError(f"expected a 'workflow_dispatch' trigger, got {self.event_name!r}")
        inputs = self.inputs_source
        if not isinstance(inputs, Mapping):
            raise FieldError("the provenance records no workflow inputs")
        return inputs

    def _ref_type_and_ref(self) -> tuple[str, str]:
        ref = self.ref
        if not ref:
            raise FieldError("the provenance records no ref")
        if self.kind == KIND_GENERATOR:
            ref_type = _string(self.environment, "github_ref_type")
            if ref_type is None:
                raise FieldError("github_ref_type is missing")
            return ref_type, ref
        if ref.startswith("refs/tags/"):
            return "tag", ref
        if ref.startswith("refs/heads/"):
            return "branch", ref
        return "", ref


def _shown(value: object, limit: int = 80) -> str:
    """A value from the payload, for a message: its repr, cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _string(mapping: Mapping[str, Any], key: str) -> str | None:
    value = mapping.get(key) if isinstance(mapping, Mapping) else None
    return value if isinstance(value, str) else None


def _mapping(mapping: Any, *keys: str) -> Mapping[str, Any]:
    """Nested mapping lookup that yields {} for anything missing or of the wrong type."""
    for key in keys:
        mapping = mapping.get(key) if isinstance(mapping, Mapping) else None
    return mapping if isinstance(mapping, Mapping) else {}


def _first(items: Any) -> Mapping[str, Any]:
    return items[0] if isinstance(items, list) and items and isinstance(items[0], Mapping) else {}


def split_git_uri(uri: str | None) -> tuple[str | None, str]:
    """``git+https://github.com/o/r@ref`` -> (``git+https://github.com/o/r``, ``ref``)."""
    if not uri:
        return None, ""
    repo, _, ref = uri.partition("@")
    return repo, ref


def _subjects(statement: Mapping[str, Any]) -> tuple[Subject, ...]:
    raw = statement.get("subject")
    if not isinstance(raw, list) or not raw:
        raise StatementError("the statement has no subjects")
    subjects = []
    for item in raw:
        digest = item.get("digest") if isinstance(item, Mapping) else None
        if not isinstance(digest, Mapping):
            raise StatementError("a subject has no digest")
        name = item.get("name")
        subjects.append(Subject(
            name=name if isinstance(name, str) else "",
            digest={k: v for k, v in digest.items() if isinstance(v, str)},
        ))
    return tuple(subjects)


def _from_v02(statement: Mapping[str, Any], subjects: tuple[Subject, ...]) -> Provenance:
    predicate = _mapping(statement, "predicate")
    build_type = predicate.get("buildType")
    if not isinstance(build_type, str) or build_type not in GENERATOR_BUILD_TYPES:
        raise StatementError(f"unsupported SLSA v0.2 buildType {_shown(build_type)}")
    builder_id = _string(_mapping(predicate, "builder"), "id")
    if not builder_id:
        raise StatementError("the provenance has no builder.id")
    invocation = _mapping(predicate, "invocation")
    config = _mapping(invocation, "configSource")
    environment = _mapping(invocation, "environment")
    material = _first(predicate.get("materials"))
    trigger_uri = _string(config, "uri")
    source_uri = _string(material, "uri")
    repo, _ = split_git_uri(trigger_uri)
    run_id = _string(environment, "github_run_id")
    attempt = _string(environment, "github_run_attempt")
    invocation_id = _string(_mapping(predicate, "metadata"), "buildInvocationID")
    entry_point = _string(config, "entryPoint")
    ref = _string(environment, "github_ref")
    github_repo = repo.removeprefix("git+") if repo else None
    return Provenance(
        kind=KIND_GENERATOR,
        statement_type=statement["_type"],
        predicate_type=SLSA_V02,
        build_type=build_type,
        builder_id=builder_id,
        subjects=subjects,
        trigger_uri=trigger_uri,
        source_uri=source_uri,
        commits=(
            ("materials[0].digest.sha1", _string(_mapping(material, "digest"), "sha1")),
            ("configSource.digest.sha1", _string(_mapping(config, "digest"), "sha1")),
            ("environment.github_sha1", _string(environment, "github_sha1")),
        ),
        refs=(
            ("ref", ref),
            ("configSource.uri", split_git_uri(trigger_uri)[1] or None),
            ("materials[0].uri", split_git_uri(source_uri)[1] or None),
        ),
        event_name=_string(environment, "github_event_name"),
        repository_id=_string(environment, "github_repository_id"),
        owner_id=_string(environment, "github_repository_owner_id"),
        invocation_uris=(
            ("environment.github_run_id/github_run_attempt",
             f"{github_repo}/actions/runs/{run_id}/attempts/{attempt}"
             if github_repo and run_id and attempt else None),
            ("metadata.buildInvocationID",
             f"{github_repo}/actions/runs/{invocation_id.replace('-', '/attempts/', 1)}"
             if github_repo and invocation_id and "-" in invocation_id else None),
        ),
        workflow_uri=f"{github_repo}/{entry_point}@{ref}" if github_repo and entry_point and ref else None,
        runner_environment=None,  # SLSA v0.2 from the generator does not record it
        environment=environment,
        inputs_source=_mapping(environment, "github_event_payload").get("inputs"),
    )


def _from_v1(statement: Mapping[str, Any], subjects: tuple[Subject, ...]) -> Provenance:
    predicate = _mapping(statement, "predicate")
    definition = _mapping(predicate, "buildDefinition")
    build_type = definition.get("buildType")
    if not isinstance(build_type, str) or build_type not in GITHUB_WORKFLOW_BUILD_TYPES:
        raise StatementError(f"unsupported SLSA v1 buildType {_shown(build_type)}")
    run_details = _mapping(predicate, "runDetails")
    builder_id = _string(_mapping(run_details, "builder"), "id")
    if not builder_id:
        raise StatementError("the provenance has no runDetails.builder.id")
    external = _mapping(definition, "externalParameters")
    workflow = _mapping(external, "workflow")
    github = _mapping(definition, "internalParameters", "github")
    dependency = _first(definition.get("resolvedDependencies"))
    repository = _string(workflow, "repository")  # https://github.com/o/r
    ref = _string(workflow, "ref")
    path = _string(workflow, "path")
    trigger_uri = f"git+{repository}@{ref}" if repository and ref else None
    source_uri = _string(dependency, "uri")
    return Provenance(
        kind=KIND_GITHUB_ATTESTATION,
        statement_type=statement["_type"],
        predicate_type=SLSA_V1,
        build_type=build_type,
        builder_id=builder_id,
        subjects=subjects,
        trigger_uri=trigger_uri,
        source_uri=source_uri,
        commits=(("resolvedDependencies[0].digest.gitCommit",
                  _string(_mapping(dependency, "digest"), "gitCommit")),),
        refs=(("ref", ref), ("resolvedDependencies[0].uri", split_git_uri(source_uri)[1] or None)),
        event_name=_string(github, "event_name"),
        repository_id=_string(github, "repository_id"),
        owner_id=_string(github, "repository_owner_id"),
        invocation_uris=(
            ("runDetails.metadata.invocationId",
             _string(_mapping(run_details, "metadata"), "invocationId")),
        ),
        workflow_uri=f"{repository}/{path}@{ref}" if repository and path and ref else None,
        runner_environment=_string(github, "runner_environment"),
        environment=github,
        inputs_source=external.get("inputs"),
    )


def _git_dependency(definition: Mapping[str, Any]) -> Mapping[str, Any]:
    """The first resolved dependency that records a git commit, else {}."""
    dependencies = definition.get("resolvedDependencies")
    for dependency in dependencies if isinstance(dependencies, list) else ():
        if _string(_mapping(dependency, "digest"), "gitCommit"):
            return dependency
    return {}


def _load_statement(payload_type: str | None, payload: bytes | None) -> Mapping[str, Any]:
    if payload_type != IN_TOTO_PAYLOAD_TYPE:
        raise StatementError(f"payload type is {payload_type!r}, not {IN_TOTO_PAYLOAD_TYPE!r}")
    try:
        statement = json.loads(payload or b"")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise StatementError("the signed payload is not JSON") from None
    except RecursionError:
        raise StatementError("the signed payload nests JSON too deeply to read") from None
    except ValueError:  # int() refuses more than sys.get_int_max_str_digits() digits
        raise StatementError("the signed payload holds a number too long to read") from None
    if not isinstance(statement, Mapping):
        raise StatementError("the signed payload is not a JSON object")
    return statement


def parse_local_statement(payload_type: str | None, payload: bytes | None) -> Provenance:
    """Read a key-signed payload: in-toto Statement v1 with SLSA v1 provenance only.

    Any buildType is accepted (the trusted key and the pinned builder id say who
    built it). There is no trigger, ref or workflow for a local build; the
    source is the first resolved dependency with a git commit, if any.
    """
    statement = _load_statement(payload_type, payload)
    if statement.get("_type") != STATEMENT_V1:
        raise StatementError(
            f"in-toto statement type {_shown(statement.get('_type'))}; expected {STATEMENT_V1!r}"
        )
    predicate_type = statement.get("predicateType")
    if predicate_type != SLSA_V1:
        raise StatementError(f"predicate type {_shown(predicate_type)}; expected {SLSA_V1!r}")
    subjects = _subjects(statement)
    predicate = _mapping(statement, "predicate")
    definition = _mapping(predicate, "buildDefinition")
    build_type = _string(definition, "buildType")
    if not build_type:
        raise StatementError("the provenance has no buildDefinition.buildType")
    run_details = _mapping(predicate, "runDetails")
    builder_id = _string(_mapping(run_details, "builder"), "id")
    if not builder_id:
        raise StatementError("the provenance has no runDetails.builder.id")
    dependency = _git_dependency(definition)
    return Provenance(
        kind=KIND_LOCAL,
        statement_type=STATEMENT_V1,
        predicate_type=SLSA_V1,
        build_type=build_type,
        builder_id=builder_id,
        subjects=subjects,
        trigger_uri=None,
        source_uri=_string(dependency, "uri"),
        commits=(("resolvedDependencies[].digest.gitCommit",
                  _string(_mapping(dependency, "digest"), "gitCommit")),),
        refs=(),
        event_name=None,
        repository_id=None,
        owner_id=None,
        invocation_uris=(("runDetails.metadata.invocationId",
                          _string(_mapping(run_details, "metadata"), "invocationId")),),
        workflow_uri=None,
        runner_environment=None,
        environment={},
        inputs_source=_mapping(definition, "externalParameters"),
    )


def parse_statement(payload_type: str | None, payload: bytes | None) -> Provenance:
    """Read a verified DSSE payload; StatementError says why it is not usable provenance."""
    statement = _load_statement(payload_type, payload)
    statement_type = statement.get("_type")
    if not isinstance(statement_type, str) or statement_type not in STATEMENT_TYPES:
        raise StatementError(f"unsupported in-toto statement type {_shown(statement_type)}")
    subjects = _subjects(statement)
    predicate_type = statement.get("predicateType")
    if predicate_type == SLSA_V02:
        return _from_v02(statement, subjects)
    if predicate_type == SLSA_V1:
        return _from_v1(statement, subjects)
    raise StatementError(f"unsupported predicate type {_shown(predicate_type)}; expected SLSA provenance")
