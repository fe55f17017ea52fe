"""One exception family. Every message is a single line a user can act on.

The CLI and the flows print ``one_line(error)`` without a traceback and exit
with ``error.exit_code``: 1 when something was checked and failed, 2 when the
input could not be used at all (slsa-verifier's convention).
"""

from __future__ import annotations


class SlsaModelsError(Exception):
    """Base of every error this project raises on purpose."""

    exit_code = 2
    #: whether trying again later may succeed (the flows retry only these)
    retryable = False


class InputError(SlsaModelsError):
    """A parameter, flag, file or URI that cannot be used as given."""


class PolicyError(InputError):
    """A policy that cannot be built: a rule no listed kind can check, nothing trusted, a typo."""


class StoreError(SlsaModelsError):
    """The artifact store cannot be reached or answered with an error."""

    retryable = True


class NotFoundError(StoreError):
    """The key, bucket or directory does not exist in the store."""

    retryable = False


class MissingObjectError(NotFoundError):
    """The object at a key does not exist (the bucket or directory does)."""


class ConflictError(StoreError):
    """A write-once key already holds other bytes, or a compare-and-swap lost."""

    exit_code = 1
    retryable = False


class ObjectChanged(ConflictError):
    """The model object in the store is no longer the one that was verified."""


class CorruptRecordError(StoreError):
    """A stored deployment record is not one (hand-edited, truncated): retrying will not help."""

    retryable = False


class UntrustedRecordError(SlsaModelsError):
    """A deployment record that is not signed by a trusted deployer, names another model,
    or is older than one already loaded (a rollback)."""

    exit_code = 1


class ProvenanceError(SlsaModelsError):
    """The provenance file is not usable: not JSON, not a bundle, unreadable."""


class StatementError(ProvenanceError):
    """The verified payload is not provenance this verifier understands."""


class FieldError(ProvenanceError):
    """A field a check needs is missing or malformed; the message says which."""


class VerificationFailed(SlsaModelsError):
    """Verification ran and at least one check failed; ``report`` says which."""

    exit_code = 1

    def __init__(self, message: str, report: object | None = None) -> None:
        super().__init__(message)
        self.report = report


class TrustParametersRefused(PolicyError):
    """A run of a deployment tried to choose what the gate trusts."""

    exit_code = 1


class RunFailed(SlsaModelsError):
    """A deployment's flow run ended in a state other than Completed."""

    exit_code = 1


class ServiceError(SlsaModelsError):
    """A stack service did not start, did not become ready, or did not stop."""

    exit_code = 1


def one_line(error: BaseException) -> str:
    """The error as the one line a user sees: ``error: <message>``, whitespace collapsed."""
    text = " ".join(str(error).split()) or type(error).__name__
    return f"error: {text}"


class StoreLockedError(StoreError):
    """A live writer holds a file store's lock for longer than another writer waits."""


class UnsafePathError(StoreError):
    """A path inside a file store is a symbolic link (or not a file): never followed."""

    retryable = False
