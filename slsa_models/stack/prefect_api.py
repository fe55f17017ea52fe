"""The few Prefect server API calls the stack needs, over plain HTTP (no Prefect import)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from slsa_models.stack.process import ServiceError


class PrefectAPI:
    """A Prefect 3 server's REST API at ``api_url`` (``http://host:port/api``)."""

    def __init__(self, api_url: str, timeout: float = 10.0) -> None:
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout

    def healthy(self) -> bool:
        try:
            return self._request("GET", "/health", timeout=2.0) is True
        except (OSError, ServiceError):
            return False

    def require_reachable(self) -> None:
        if not self.healthy():
            raise ServiceError(
                f"cannot reach the Prefect API at {self.api_url}: start the stack with "
                "`slsa-models stack up` (or check SLSA_MODELS_PREFECT_PORT)"
            )

    def work_pool(self, name: str) -> dict[str, Any] | None:
        return self._get_or_none(f"/work_pools/{_quote(name)}")

    def online_workers(self, pool: str) -> list[str]:
        workers = self._request("POST", f"/work_pools/{_quote(pool)}/workers/filter", {}) or []
        return [worker["name"] for worker in workers if worker.get("status") == "ONLINE"]

    def deployment(self, flow_name: str, deployment_name: str) -> dict[str, Any] | None:
        return self._get_or_none(f"/deployments/name/{_quote(flow_name)}/{_quote(deployment_name)}")

    def flow_run(self, flow_run_id: str) -> dict[str, Any]:
        return self._request("GET", f"/flow_runs/{_quote(flow_run_id)}")

    def artifacts(self, flow_run_id: str) -> list[dict[str, Any]]:
        body = {"artifacts": {"flow_run_id": {"any_": [flow_run_id]}}, "sort": "CREATED_DESC", "limit": 50}
        return self._request("POST", "/artifacts/filter", body) or []

    def _get_or_none(self, path: str) -> Any:
        try:
            return self._request("GET", path)
        except _NotFound:
            return None

    def _request(self, method: str, path: str, body: Any = None, timeout: float | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.api_url + path, data=data, method=method,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout or self.timeout) as response:  # noqa: S310 - loopback
                payload = response.read()
        except urllib.error.HTTPError as error:
            if error.code == 404:
                raise _NotFound(path) from None
            detail = error.read(500).decode("utf-8", "replace")
            raise ServiceError(f"Prefect API {method} {path} answered {error.code}: {' '.join(detail.split())}") from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise ServiceError(f"cannot reach the Prefect API at {self.api_url}: {reason}") from None
        return json.loads(payload) if payload else None


class _NotFound(Exception):
    pass


def _quote(part: str) -> str:
    return urllib.parse.quote(part, safe="")
