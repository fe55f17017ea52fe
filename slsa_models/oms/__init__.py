"""OpenSSF Model Signing (OMS): verify and make ``model_signing`` signatures.

    from slsa_models.oms import sign_model, verify_model
    signature = sign_model("checkpoint/", "key.pem")                 # bundle JSON bytes
    report = verify_model("checkpoint/", "model.sig", OMSPolicy(public_keys=(OMSKey.from_file("key.pub"),)))

See ``format`` (the file), ``verify`` (the checks), ``sign``; the gate verifies OMS
evidence through ``slsa_models.verify`` (kind ``oms``, policy ``[oms]``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["OMSKey", "sign_model", "verify_model", "write_signature"]


def __getattr__(name: str) -> Any:  # lazy: importing the package stays cheap
    if name in ("sign_model", "write_signature"):
        from slsa_models.oms import sign

        return getattr(sign, name)
    if name == "verify_model":
        from slsa_models.oms.verify import verify_model

        return verify_model
    if name == "OMSKey":
        from slsa_models.oms.trust import OMSKey

        return OMSKey
    raise AttributeError(name)
