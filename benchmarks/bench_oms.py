"""OMS verification: `slsa-models verify-signature` against `model_signing verify` and the
two-core hashing limit, on the same 1 GiB, 7-file folder signed by model_signing, one run.

Makes a folder of 7 files (6 x 160 MiB + 64 MiB, 1 GiB in all; or --folder DIR), signs
it with model_signing 1.1.1 (key kind: no network) and a key made for the run, reads it
once so the page cache holds it, compiles our bytecode (as a regular pip install
does; model_signing's is), then in alternating rounds times, each as a whole
command in its own process (start-up, imports, hashing, signature, comparison):

- ours: ``slsa-models verify-signature key DIR --signature SIG --public_key PUB``;
- model_signing: ``model_signing verify key DIR --signature SIG --public_key PUB``;
- the two-core limit: ``openssl dgst -sha256`` over the files, two processes at a time.

Best of ``--rounds``; targets: ours <= 0.75x model_signing, ours <= 1.3x the two-core limit.
The library calls are timed too, in their own processes but without start-up and imports
(``verify_model`` against ``model_signing.verifying.Config().verify``): the verification
itself, apart from the command line's start-up.

    python benchmarks/bench_oms.py [--rounds 3] [--folder DIR]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
LIBRARY = r"""
import sys, time
kind, folder, signature, public = sys.argv[1:]
if kind == "ours":
    from slsa_models.oms.trust import OMSKey
    from slsa_models.oms.verify import verify_model
    from slsa_models.verify.policy import OMSPolicy
    policy = OMSPolicy(public_keys=(OMSKey.from_file(public),))
    run = lambda: verify_model(folder, signature, policy).raise_for_failure()
else:
    import model_signing
    config = model_signing.verifying.Config().use_elliptic_key_verifier(public_key=public)
    run = lambda: config.verify(folder, signature)
start = time.perf_counter()
run()
print(time.perf_counter() - start)
"""
SIZES_MIB = (160, 160, 160, 160, 160, 160, 64)


def make_folder(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    block = os.urandom(1 << 20)
    for number, mib in enumerate(SIZES_MIB, 1):
        with open(folder / f"model-{number:05d}-of-{len(SIZES_MIB):05d}.safetensors", "wb") as stream:
            for index in range(mib):  # vary each MiB so nothing can deduplicate it
                stream.write((number * 100_000 + index).to_bytes(8, "little") + block[8:])


def make_key(directory: Path) -> tuple[Path, Path]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    private, public = directory / "signer.pem", directory / "signer.pub"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo))
    return private, public


CPU: dict[str, float] = {}  # contender -> least CPU seconds (user + sys) of a run


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(argv: list[str], name: str = "", **options: object) -> float:
    """Wall seconds of one run; its CPU seconds (all its processes) go to CPU[name]: on a
    shared machine CPU time says what a run costs when wall time says who got the cores."""
    cpu, start = _children_cpu(), time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **options)  # type: ignore[call-overload]
    wall = time.perf_counter() - start
    if name:
        CPU[name] = min(CPU.get(name, float("inf")), _children_cpu() - cpu)
    return wall


def files_of(folder: Path, signature: Path) -> list[str]:
    return sorted(str(path) for path in folder.rglob("*") if path.is_file() and path != signature)


def compile_bytecode() -> None:
    """Compile slsa_models to bytecode, as a regular pip install does (model_signing's is):
    an editable install under PYTHONDONTWRITEBYTECODE would compile every module on every
    start and charge that to ours alone."""
    import compileall

    import slsa_models

    compileall.compile_dir(Path(slsa_models.__file__).parent, quiet=1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--folder", type=Path, help="an existing folder to sign and verify instead")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-oms-"))
    try:
        folder = args.folder or scratch / "model"
        if args.folder is None:
            make_folder(folder)
        private, public = make_key(scratch)
        signature = scratch / "model.sig"
        subprocess.run([str(BIN / "model_signing"), "sign", "key", str(folder), "--signature", str(signature),
                        "--private_key", str(private)], check=True, stdout=subprocess.DEVNULL)
        files = files_of(folder, signature)
        compile_bytecode()
        size = sum(os.path.getsize(path) for path in files)
        contenders = {
            "ours": [str(BIN / "slsa-models"), "verify-signature", "key", str(folder), "--signature",
                     str(signature), "--public_key", str(public)],
            "model_signing": [str(BIN / "model_signing"), "verify", "key", str(folder), "--signature",
                              str(signature), "--public_key", str(public)],
        }
        openssl = ["xargs", "-P2", "-n1", "openssl", "dgst", "-sha256"]
        timed(openssl, input="\n".join(files), text=True)  # warm the page cache
        best = {"ours": float("inf"), "model_signing": float("inf"), "openssl x2": float("inf"),
                "ours (library)": float("inf"), "model_signing (library)": float("inf")}
        for _ in range(args.rounds):
            for name, argv in contenders.items():
                best[name] = min(best[name], timed(argv, name))
            best["openssl x2"] = min(best["openssl x2"], timed(openssl, "openssl x2", input="\n".join(files),
                                                               text=True))
            for name in ("ours", "model_signing"):
                out = subprocess.run([sys.executable, "-c", LIBRARY, name, str(folder), str(signature),
                                      str(public)], check=True, capture_output=True, text=True).stdout
                best[f"{name} (library)"] = min(best[f"{name} (library)"], float(out.split()[-1]))
        print(f"folder: {len(files)} files, {size / 2**20:.0f} MiB, signed by model_signing; "
              f"best of {args.rounds} rounds, each a whole command")
        for name, seconds in best.items():
            print(f"  {name:<24} {seconds:6.2f} s  {size / 2**20 / seconds:7.0f} MiB/s")
        print(f"ours / model_signing verify: {best['ours'] / best['model_signing']:.2f}x (target <= 0.75x)")
        print(f"ours / two-core openssl: {best['ours'] / best['openssl x2']:.2f}x (target <= 1.3x)")
        print("CPU seconds (user + sys, least of the rounds): " + ", ".join(
            f"{name} {seconds:.2f}" for name, seconds in CPU.items()))
        print(f"CPU: ours / model_signing {CPU['ours'] / CPU['model_signing']:.2f}x, ours / openssl x2 "
              f"{CPU['ours'] / CPU['openssl x2']:.2f}x")
        print(f"library calls, without start-up: ours / model_signing "
              f"{best['ours (library)'] / best['model_signing (library)']:.2f}x, ours / two-core openssl "
              f"{best['ours (library)'] / best['openssl x2']:.2f}x")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
