"""Which stored model to deploy: a given digest, or the newest stored model of a name."""

from __future__ import annotations

from slsa_models.digest import normalize_sha256
from slsa_models.errors import InputError, NotFoundError
from slsa_models.store import ArtifactStore, StoredObject, layout


def model_objects(store: ArtifactStore, model_name: str, digest: str | None = None) -> list[StoredObject]:
    """The model files stored under ``model_name`` (one digest's, when given); no provenance."""
    prefix = layout.model_prefix(model_name)
    if digest is not None:
        prefix += f"sha256-{normalize_sha256(digest)}/"
    found = []
    for obj in store.list_objects(prefix):
        if obj.key.endswith(layout.PROVENANCE_SUFFIX):
            continue
        try:
            layout.parse_model_key(obj.key)
        except InputError:
            continue  # not at a model key: nothing a deploy can name
        found.append(obj)
    return found


def find_model(store: ArtifactStore, model_name: str, digest: str | None = None) -> StoredObject:
    """The stored model to deploy.

    With ``digest`` (``sha256:HEX``), the model file stored under it; without, the
    most recently stored model of ``model_name`` (by last-modified time, then key).
    """
    layout.validate_model_name(model_name)
    wanted = normalize_sha256(digest) if digest is not None else None
    found = model_objects(store, model_name, wanted)
    if wanted is not None:
        if not found:
            raise NotFoundError(
                f"no model {model_name!r} with digest sha256:{wanted} in {store.uri}"
                f" (nothing under {layout.model_prefix(model_name)}sha256-{wanted}/)"
            )
        if len(found) > 1:
            names = ", ".join(layout.parse_model_key(obj.key)[2] for obj in found)
            raise InputError(
                f"digest sha256:{wanted} of model {model_name!r} names several files ({names});"
                " the store holds one model file per digest"
            )
        return found[0]
    if not found:
        raise NotFoundError(
            f"no stored model {model_name!r} in {store.uri} (nothing under"
            f" {layout.model_prefix(model_name)}); train and store one first"
        )
    return max(found, key=lambda obj: (obj.last_modified is not None, obj.last_modified, obj.key))
