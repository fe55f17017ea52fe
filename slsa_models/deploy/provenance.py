"""Fetch a model's provenance: from the store next to the model, otherwise from a URL.

The bytes are parsed here (bounded, classified by the verifier's loader), so an
empty, garbage or oversized file is known before the model is downloaded.
A provenance that cannot be used is carried as ``FetchedProvenance.error``
rather than raised: the deploy records it as a refusal. Store failures raise.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from slsa_models.deploy import http
from slsa_models.errors import InputError, ProvenanceError
from slsa_models.store import ArtifactStore, MissingObjectError, layout
from slsa_models.verify import LoadedProvenance, load_provenance
from slsa_models.verify.bundle import MAX_PROVENANCE_BYTES

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


def fetch_provenance(
    store: ArtifactStore,
    model_key: str,
    url: str | None = None,
    *,
    delays: Sequence[float] = http.DEFAULT_DELAYS,
    sleep: Callable[[float], None] | None = None,
) -> FetchedProvenance:
    """The provenance of the model at ``model_key``.

    ``<model key>.intoto.jsonl`` in the store is used when it exists; otherwise
    ``url`` (HTTP(S), retried on transient failures). With neither, the result
    carries a ProvenanceError saying how to provide one.
    """
    key = layout.provenance_key(model_key)
    uri = store.object_uri(key)
    try:
        raw = store.read_bytes(key, max_size=MAX_PROVENANCE_BYTES)
    except MissingObjectError:
        raw = None
    except InputError:  # larger than the cap: read_bytes refuses without reading it
        return FetchedProvenance(model_key, key, SOURCE_STORE, uri, error=ProvenanceError(
            f"{uri}: larger than the {MAX_PROVENANCE_BYTES // 2**20} MiB limit for a provenance file"
        ))
    if raw is not None:
        return _load(model_key, key, SOURCE_STORE, uri, raw)
    if url is None:
        return FetchedProvenance(model_key, key, SOURCE_STORE, uri, error=ProvenanceError(
            f"no provenance for {store.object_uri(model_key)}: {uri} does not exist;"
            " publish it with `slsa-models publish` or give its URL (--provenance-url)"
        ))
    shown = http.redact(url)
    member = layout.parse_model_key(model_key)[2] + layout.PROVENANCE_SUFFIX
    options = {"sleep": sleep} if sleep is not None else {}
    try:
        raw = http.fetch_url(url, max_bytes=MAX_PROVENANCE_BYTES, member_name=member,
                             delays=delays, **options)
    except ProvenanceError as error:
        return FetchedProvenance(model_key, key, SOURCE_URL, shown, error=error)
    return _load(model_key, key, SOURCE_URL, shown, raw)


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
