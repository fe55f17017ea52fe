"""Fetch a model's evidence: every piece stored next to the model, otherwise one from a URL.

The bytes are parsed here (bounded, classified by the verifier's loader), so an
empty, garbage or oversized file is known before the model is downloaded.
A piece that cannot be used is carried as ``FetchedProvenance.error`` rather
than raised: the gate judges the others, and records it if none passes.
Store failures raise. At most ``MAX_EVIDENCE_PIECES`` pieces are read.
With ``github`` (a GitHubAttestations) and no URL, a model the store holds no
evidence for gets the attestations GitHub's API lists for its digest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from slsa_models.deploy import http
from slsa_models.deploy.github_api import GitHubAttestations
from slsa_models.errors import InputError, ProvenanceError
from slsa_models.store import ArtifactStore, MissingObjectError, layout
from slsa_models.verify import LoadedProvenance, load_provenance
from slsa_models.verify.bundle import MAX_PROVENANCE_BYTES

MAX_EVIDENCE_PIECES = 16
SOURCE_STORE = "store"
SOURCE_URL = "url"


@dataclass(frozen=True)
class FetchedProvenance:
    """Where a model's provenance came from and, when usable, the loaded file."""

    model_key: str
    key: str  # its place in the store: <model key>.intoto.jsonl
    source: str  # "store" or "url"
    location: str  # the object URI, or the URL without its query
    loaded: LoadedProvenance | None = None
    error: ProvenanceError | None = None

    @property
    def usable(self) -> bool:
        return self.loaded is not None

    @property
    def sha256(self) -> str | None:
        return self.loaded.sha256 if self.loaded is not None else None

    @property
    def raw(self) -> bytes | None:
        return self.loaded.raw if self.loaded is not None else None


def fetch_evidence(
    store: ArtifactStore,
    model_key: str,
    url: str | None = None,
    *,
    delays: Sequence[float] = http.DEFAULT_DELAYS,
    sleep: Callable[[float], None] | None = None,
    github: GitHubAttestations | None = None,
) -> tuple[FetchedProvenance, ...]:
    """Every piece of evidence stored next to the model at ``model_key``.

    When the store holds none, ``url`` (HTTP(S), retried on transient failures) is
    fetched, else the attestations ``github`` lists for the model's digest (each
    kept, once the model is promoted, as a URL-fetched piece is); with neither,
    one piece carrying a ProvenanceError says how to provide it.
    """
    first = layout.provenance_key(model_key)
    keys = sorted((obj.key for obj in store.list_objects(model_key + ".")
                   if layout.is_evidence_of(obj.key, model_key)), key=lambda key: (key != first, key))
    if keys:
        return tuple(_from_store(store, model_key, key) for key in keys[:MAX_EVIDENCE_PIECES])
    uri = store.object_uri(first)
    if url is None and github is not None:
        return _from_github(github, model_key, first, sleep)
    if url is None:
        return (FetchedProvenance(model_key, first, SOURCE_STORE, uri, error=ProvenanceError(
            f"no provenance for {store.object_uri(model_key)}: {uri} does not exist;"
            " publish it with `slsa-models publish` or give its URL (--provenance-url)"
        )),)
    shown = http.redact(url)
    member = layout.parse_model_key(model_key)[2] + layout.PROVENANCE_SUFFIX
    options = {"sleep": sleep} if sleep is not None else {}
    try:
        raw = http.fetch_url(url, max_bytes=MAX_PROVENANCE_BYTES, member_name=member,
                             delays=delays, **options)
    except ProvenanceError as error:
        return (FetchedProvenance(model_key, first, SOURCE_URL, shown, error=error),)
    return (_load(model_key, first, SOURCE_URL, shown, raw),)


def _from_github(github: GitHubAttestations, model_key: str, first: str,
                 sleep: Callable[[float], None] | None) -> tuple[FetchedProvenance, ...]:
    """The attestations GitHub lists for the digest; the first keeps the first evidence key."""
    sha256 = layout.parse_model_key(model_key)[1]
    options = {"sleep": sleep} if sleep is not None else {}
    shown = github.url(sha256).split("?", 1)[0]
    try:
        listed = github.fetch(sha256, **options)
    except ProvenanceError as error:
        return (FetchedProvenance(model_key, first, SOURCE_URL, shown, error=error),)
    pieces = []
    for attestation in listed:
        location = f"{shown} attestation {attestation.index}"
        if attestation.raw is None:
            pieces.append(FetchedProvenance(model_key, first, SOURCE_URL, location,
                                            error=attestation.error))
            continue
        key = first if not pieces else layout.evidence_key(model_key, hashlib.sha256(attestation.raw).hexdigest())
        pieces.append(_load(model_key, key, SOURCE_URL, location, attestation.raw))
    return tuple(pieces)


def _from_store(store: ArtifactStore, model_key: str, key: str) -> FetchedProvenance:
    uri = store.object_uri(key)
    try:
        raw = store.read_bytes(key, max_size=MAX_PROVENANCE_BYTES)
    except MissingObjectError:  # removed since it was listed
        return FetchedProvenance(model_key, key, SOURCE_STORE, uri,
                                 error=ProvenanceError(f"{uri}: removed while it was being read"))
    except InputError:  # larger than the cap: read_bytes refuses without reading it
        return FetchedProvenance(model_key, key, SOURCE_STORE, uri, error=ProvenanceError(
            f"{uri}: larger than the {MAX_PROVENANCE_BYTES // 2**20} MiB limit for a provenance file"
        ))
    return _load(model_key, key, SOURCE_STORE, uri, raw)


def _load(model_key: str, key: str, source: str, location: str, raw: bytes) -> FetchedProvenance:
    try:
        loaded = load_provenance(raw)
    except ProvenanceError as error:
        return FetchedProvenance(model_key, key, source, location, error=relabel(error, location))
    return FetchedProvenance(model_key, key, source, location, loaded=loaded)


def relabel(error: ProvenanceError, location: str) -> ProvenanceError:
    """The loader names bytes "provenance"; name where they came from instead."""
    text = str(error)
    if text.startswith("provenance: "):
        text = f"{location}: {text.removeprefix('provenance: ')}"
    return ProvenanceError(text)
