# model_signing 0.2.0: key and certificate (pki) signatures of a folder, its default payload (Digests/v0.1)
import pathlib

from model_signing import api
from model_signing.signature import key, pki
from model_signing.signing import in_toto, in_toto_signature

model = pathlib.Path("model")
manifest = api.HashingConfig().hash(model)
payload = in_toto.DigestsIntotoPayload.from_manifest(manifest)
in_toto_signature.IntotoSigner(key.ECKeySigner.from_path("signer.pem")).sign(payload).write(pathlib.Path("v0.2.0-key.sig"))
in_toto_signature.IntotoSigner(pki.PKISigner.from_path("signer.pem", "signer-cert.pem", ["int-ca.pem"])).sign(payload).write(pathlib.Path("v0.2.0-certificate.sig"))
