"""One exception family. Every message is a single line a user can act on.

The CLI and the flows print ``str(error)`` without a traceback and exit with
``error.exit_code``: 1 when something was checked and failed, 2 when the input
could not be used at all (slsa-verifier's convention).
"""


class SlsaModelsError(Exception):
    """Base of every error this project raises on purpose."""

    exit_code = 2
    #: whether trying again later may succeed (the flows retry only these)
    retryable = False


class InputError(SlsaModelsError):
    """A parameter, flag, file or URI that cannot be used as given."""


class StoreError(SlsaModelsError):
    """The artifact store cannot be reached or answered with an error."""

    retryable = True


class NotFoundError(StoreError):
    """The key, bucket or directory does not exist in the store."""

    retryable = False


class ConflictError(StoreError):
    """A write-once key already holds other bytes, or a compare-and-swap lost."""

    exit_code = 1
    retryable = False


class ProvenanceError(SlsaModelsError):
    """The provenance file is not usable: not JSON, not a bundle, unreadable."""


class VerificationFailed(SlsaModelsError):
    """Verification ran and at least one check failed; ``report`` says which."""

    exit_code = 1

    def __init__(self, message: str, report: object | None = None) -> None:
        super().__init__(message)
        self.report = report


class StoreLockedError(StoreError):
    """A live writer holds a file store's lock for longer than another writer waits."""


class UnsafePathError(StoreError):
    """A path inside a file store is a symbolic link (or not a file): never followed."""

    retryable = False
