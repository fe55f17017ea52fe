"""Make OMS signatures that ``model_signing verify`` accepts: key and certificate kinds, and
keyless Sigstore where an OIDC identity exists (GitHub Actions).

    sig = sign_model("checkpoint/", load_private_key("key.pem"))            # -> bytes
    sig = sign_model("model.keras", key, certificate=cert, chain=[intermediate, root])

The manifest is model_signing's ``files`` serialization (SHA-256 per file,
``.`` for a one-file model), or ``shards`` with ``shard_size``; the envelope
is DSSE over an in-toto statement, signed with ``cryptography``'s ECDSA (the
hash by curve, as model_signing), in a Sigstore bundle v0.3.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from slsa_models.errors import InputError
from slsa_models.manifest import GIT_PATHS
from slsa_models.oms.format import FILES, MEDIA_TYPE, PAYLOAD_TYPE, SHARDS, build_statement
from slsa_models.oms.trust import CURVES, key_hash, key_hint, load_private_key

if TYPE_CHECKING:
    from slsa_models.progress import Progress


def _resources(path: Path, ignore: Sequence[str], *, ignore_git_paths: bool, allow_symlinks: bool,
               shard_size: int | None, workers: int | None, progress: Progress | None) -> dict[str, str]:
    from slsa_models.digest import sha256_file
    from slsa_models.manifest import hash_files
    from slsa_models.oms.hashing import hash_shards, in_flight, list_model_files

    if not allow_symlinks and path.is_symlink():
        raise InputError(f"{path}: is a symlink (give --allow_symlinks to follow it)")
    if not path.exists():
        raise InputError(f"{path}: no such model file or folder")
    if not path.is_dir():
        _expect(progress, [path])
        if shard_size:
            return hash_shards(path, ["."], shard_size, workers=workers, on_progress=progress)
        return {".": sha256_file(path, progress)}
    paths = list_model_files(path, ignore, ignore_git_paths=ignore_git_paths, allow_symlinks=allow_symlinks)
    if not paths:
        raise InputError(f"{path}: the model folder has no files to sign")
    _expect(progress, [path / name for name in paths])
    if shard_size:
        return hash_shards(path, paths, shard_size, workers=workers, on_progress=progress)
    return hash_files(path, paths, workers=workers or in_flight(len(paths)), on_progress=progress)


def _expect(progress: Progress | None, files: Sequence[Path]) -> None:
    """Tell ``progress`` the bytes to hash (an unreadable file counts 0: hashing it reports the error)."""
    if progress is not None:
        from slsa_models.progress import total_size

        progress.add_total(total_size(files))


def sign_model(path: str | os.PathLike[str], private_key: ec.EllipticCurvePrivateKey | str | os.PathLike[str],
               *, certificate: x509.Certificate | None = None, chain: Sequence[x509.Certificate] = (),
               ignore_paths: Sequence[str] = (), signature_path: str | os.PathLike[str] | None = None,
               ignore_git_paths: bool = True, allow_symlinks: bool = False, model_name: str | None = None,
               shard_size: int | None = None, workers: int | None = None,
               progress: Progress | None = None) -> bytes:
    """The OMS signature (bundle JSON bytes) of the model file or folder ``path``.

    ``ignore_paths`` are relative to the folder; ``signature_path``, when inside the
    folder, is left out too (and recorded, as model_signing does). With ``certificate``
    (whose key must be ``private_key``'s) and its ``chain``, a certificate-kind signature;
    else a key-kind one. ``model_name`` (default: the file or folder name) is the subject's
    name: the gate reads it as the model the signature names. ``progress`` is told the bytes
    to hash once the files are listed, then each chunk hashed.
    """
    key = private_key if isinstance(private_key, ec.EllipticCurvePrivateKey) else load_private_key(private_key)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name not in CURVES:
        raise InputError("the signing key is not an ECDSA key on P-256, P-384 or P-521")
    payload = model_payload(path, ignore_paths=ignore_paths, signature_path=signature_path,
                            ignore_git_paths=ignore_git_paths, allow_symlinks=allow_symlinks,
                            model_name=model_name, shard_size=shard_size, workers=workers,
                            progress=progress)
    return sign_payload(payload, key, certificate=certificate, chain=chain)


def model_payload(path: str | os.PathLike[str], *, ignore_paths: Sequence[str] = (),
                  signature_path: str | os.PathLike[str] | None = None, ignore_git_paths: bool = True,
                  allow_symlinks: bool = False, model_name: str | None = None,
                  shard_size: int | None = None, workers: int | None = None,
                  progress: Progress | None = None) -> bytes:
    """The in-toto statement (bytes) an OMS signature of ``path`` signs (see ``sign_model``)."""
    if shard_size is not None and (isinstance(shard_size, bool) or not isinstance(shard_size, int)
                                   or shard_size < 1):
        raise InputError(f"shard size {shard_size!r}: expected a positive number of bytes")
    model = Path(path)
    ignore = [p.strip("/") for p in ignore_paths]
    if signature_path is not None and model.is_dir():
        from slsa_models.oms.verify import resolve_ignore_paths

        ignore += resolve_ignore_paths(model, [Path(signature_path).absolute()])
    resources = _resources(model, ignore, ignore_git_paths=ignore_git_paths, allow_symlinks=allow_symlinks,
                           shard_size=shard_size, workers=workers, progress=progress)
    recorded = tuple(dict.fromkeys(ignore + (list(GIT_PATHS) if ignore_git_paths else [])))
    name = model_name or model.resolve().name
    return build_statement(name, SHARDS if shard_size else FILES, resources, ignore_paths=recorded,
                           allow_symlinks=allow_symlinks, shard_size=shard_size)


def sign_payload(payload: bytes, key: ec.EllipticCurvePrivateKey, *,
                 certificate: x509.Certificate | None = None,
                 chain: Sequence[x509.Certificate] = ()) -> bytes:
    """A Sigstore bundle v0.3 holding a DSSE envelope over ``payload`` signed by ``key``."""
    from slsa_models.oms.verify import pae

    signature = key.sign(pae(payload), ec.ECDSA(key_hash(key.public_key())))
    if certificate is None:
        if chain:
            raise InputError("a certificate chain needs the signing certificate")
        material = {"publicKey": {"hint": key_hint(key.public_key())}, "tlogEntries": []}
    else:
        if certificate.public_key() != key.public_key():
            raise InputError("the signing certificate's public key is not the private key's")
        certificates = [certificate, *chain]
        material = {"x509CertificateChain": {"certificates": [
            {"rawBytes": base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()}
            for cert in certificates]}, "tlogEntries": []}
    bundle = {
        "mediaType": MEDIA_TYPE,
        "verificationMaterial": material,
        "dsseEnvelope": {
            "payload": base64.b64encode(payload).decode(),
            "payloadType": PAYLOAD_TYPE,
            "signatures": [{"sig": base64.b64encode(signature).decode(), "keyid": ""}],
        },
    }
    return json.dumps(bundle, indent=2).encode("utf-8") + b"\n"


def sign_payload_sigstore(payload: bytes, *, identity_token: str | None = None,
                          trust_config: str | os.PathLike[str] | None = None,
                          environ: Mapping[str, str] = os.environ) -> bytes:
    """Keyless: a Sigstore bundle over ``payload`` with the given or ambient OIDC token (GitHub
    Actions with ``id-token: write``), as ``model_signing sign sigstore``. Refused in one line,
    before anything reaches the network, when there is no token."""
    require_identity(identity_token, environ)
    return _sigstore_bundle(payload, identity_token, trust_config)  # pragma: no cover - needs the internet


def require_identity(identity_token: str | None, environ: Mapping[str, str] = os.environ) -> None:
    """InputError unless a token is given or GitHub Actions offers an ambient one."""
    from slsa_models.provenance.signers import ambient_oidc_available

    if identity_token is None and not ambient_oidc_available(environ):
        raise InputError("no OIDC identity for keyless signing: run in GitHub Actions with "
                         "id-token: write, or give --identity_token (or sign with a key)")


def _sigstore_bundle(payload: bytes, identity_token: str | None,
                     trust_config: str | os.PathLike[str] | None) -> bytes:  # pragma: no cover - network
    from sigstore.dsse import Statement
    from sigstore.models import ClientTrustConfig
    from sigstore.oidc import IdentityToken, detect_credential
    from sigstore.sign import SigningContext

    token = identity_token or detect_credential()
    if not token:
        raise InputError("no ambient OIDC credential: run in GitHub Actions with id-token: write")
    config = (ClientTrustConfig.from_json(Path(trust_config).read_text(encoding="utf-8"))
              if trust_config is not None else ClientTrustConfig.production())
    with SigningContext.from_trust_config(config).signer(IdentityToken(token)) as signer:
        return signer.sign_dsse(Statement(payload)).to_json().encode("utf-8") + b"\n"


def write_signature(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (a reader never sees half a signature); an
    existing signature is replaced, as model_signing does."""
    target = Path(path)
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or ".")
    except OSError as error:
        raise InputError(f"cannot write {target}: {error.strerror or error}") from None
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise InputError(f"cannot write {target}: {error.strerror or error}") from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
