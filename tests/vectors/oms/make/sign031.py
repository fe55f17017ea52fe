# model_signing 0.3.1 (its certificate signer fails: a typo, `raw_byutes`; its Config() builds a
# Sigstore signer first, which refreshes TUF online: the key signer is used directly)
import pathlib

from model_signing import hashing
from model_signing._signing import sign_ec_key, signing


def sign(model, sig, signer, hashing_config=None):
    config = hashing_config or hashing.Config()
    manifest = config.hash(pathlib.Path(model))
    signer.sign(signing.Payload(manifest)).write(pathlib.Path(sig))


key = sign_ec_key.Signer(pathlib.Path("signer.pem"))
sign("model", "v0.3.1-key.sig", key)
sign("model/model.bin", "v0.3.1-key-file.sig", key)
sign("model", "v0.3.1-key-shards.sig", key, hashing.Config().use_shard_serialization(shard_size=4))
