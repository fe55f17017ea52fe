# model_signing 1.0.1 (its Config() builds a Sigstore signer first, which refreshes TUF online:
# the signers are used directly here, as Config.sign does after that)
import pathlib

from model_signing import hashing
from model_signing._signing import sign_certificate, sign_ec_key, signing


def sign(model, sig, signer, hashing_config=None):
    config = hashing_config or hashing.Config()
    ignored = [pathlib.Path(sig).name] if pathlib.Path(sig).parent == pathlib.Path(model) else []
    manifest = config.set_ignored_paths(paths=ignored).hash(pathlib.Path(model))
    signer.sign(signing.Payload(manifest)).write(pathlib.Path(sig))
key = sign_ec_key.Signer(pathlib.Path("signer.pem"))
cert = sign_certificate.Signer(pathlib.Path("signer.pem"), pathlib.Path("signer-cert.pem"), [pathlib.Path("int-ca.pem")])
sign("model", "v1.0.1-key.sig", key)
sign("model", "v1.0.1-certificate.sig", cert)
sign("model/model.bin", "v1.0.1-key-file.sig", key)
sign("model", "v1.0.1-key-shards.sig", key, hashing.Config().use_shard_serialization(shard_size=4))
