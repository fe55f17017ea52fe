"""Verification speed: slsa-models' verify_artifacts against sigstore-python's bare verify_dsse.

Verifies one real vector N times in this process and prints medians for:

- ours: ``verify_artifacts(path, [artifact by digest], policy)``: read and
  parse the file, verify the bundle, parse the statement, run every check;
- sigstore: read the file, ``Bundle.from_json`` + ``Verifier.verify_dsse``:
  the least any verifier must do to verify the file;
- sigstore, pre-parsed: ``verify_dsse`` alone on one Bundle object reused
  every time (its certificate's parsed extensions are cached after the
  first call, so this is a floor rather than a like-for-like run).

The runs are interleaved (A, B, C, A, B, C, ...) so that load from other
processes hits all three alike. Target: ours / sigstore <= 1.2.

    python benchmarks/bench_verify.py [--runs 200] [--vector PATH]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

VECTOR = Path(__file__).resolve().parent.parent / "tests" / "vectors" / (
    "binary-linux-amd64-push-v14.intoto.jsonl"
)
ARTIFACT_SHA256 = "376e7e01348585b6e6643bc6663146b9d525d9b41228bf180eaeb4d4a3706caa"
SOURCE = "github.com/slsa-framework/example-package"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--vector", type=Path, default=VECTOR)
    args = parser.parse_args()

    from sigstore.models import Bundle
    from sigstore.verify.policy import OIDCIssuerV2

    from slsa_models.verify import Artifact, GeneratorPolicy, Policy, verify_artifacts
    from slsa_models.verify.crypto import get_verifier

    raw = args.vector.read_bytes()  # for the pre-parsed floor
    artifact = Artifact.from_digest(f"sha256:{ARTIFACT_SHA256}")
    policy = Policy(GeneratorPolicy(source_uri=SOURCE))
    verifier = get_verifier(None)  # the same offline public-good Verifier for both sides
    issuer = OIDCIssuerV2("https://token.actions.githubusercontent.com")
    parsed = Bundle.from_json(raw)

    def ours() -> None:
        assert verify_artifacts(args.vector, [artifact], policy).passed

    def sigstore_from_file() -> None:
        verifier.verify_dsse(Bundle.from_json(args.vector.read_bytes()), issuer)

    def sigstore_preparsed() -> None:
        verifier.verify_dsse(parsed, issuer)

    contenders: dict[str, Callable[[], None]] = {
        "slsa-models verify_artifacts (from file)": ours,
        "sigstore read + from_json + verify_dsse": sigstore_from_file,
        "sigstore verify_dsse (pre-parsed)": sigstore_preparsed,
    }
    timings: dict[str, list[float]] = {name: [] for name in contenders}
    for function in contenders.values():  # warm up: imports, caches
        for _ in range(5):
            function()
    for _ in range(args.runs):
        for name, function in contenders.items():
            start = time.perf_counter()
            function()
            timings[name].append(time.perf_counter() - start)

    medians = {name: statistics.median(values) for name, values in timings.items()}
    print(f"vector: {args.vector.name}, {args.runs} runs each, interleaved")
    for name, median in medians.items():
        print(f"  {name:<44} median {median * 1e3:7.3f} ms")
    ours_median = medians["slsa-models verify_artifacts (from file)"]
    ratio = ours_median / medians["sigstore read + from_json + verify_dsse"]
    floor = ours_median / medians["sigstore verify_dsse (pre-parsed)"]
    print(f"ratio ours / sigstore (both from the file): {ratio:.3f}x (target <= 1.2x: "
          f"{'met' if ratio <= 1.2 else 'NOT met'})")
    print(f"ratio ours / sigstore (pre-parsed floor): {floor:.3f}x")


if __name__ == "__main__":
    main()
