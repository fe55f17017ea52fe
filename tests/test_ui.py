"""The Prefect UI, in headless Debian chromium, shows the deploy run and its verification artifact.

It looks at the stack of test_e2e.py (the same session-wide server). chromium comes from
scripts/install-system-deps.sh (or SLSA_MODELS_CHROMIUM names a Chrome or Chromium binary);
without it these tests fail, they do not skip.

The UI is a JavaScript app whose lists render after several API calls, so instead of
``--dump-dom`` with a virtual-time budget (which returned some list pages before their rows
appeared, now and then) the browser is driven over the DevTools protocol and each page is
polled until the text we look for is there, within a real-time limit.

The screenshot of the verification artifact goes to the test's temporary directory, and to
docs/ui-deploy-run.png (the README's) when SLSA_MODELS_UPDATE_SCREENSHOT=1.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import struct
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.shared_stack import MODEL, REPO, SharedStack, shared_stack

SCREENSHOT = REPO / "docs" / "ui-deploy-run.png"
WINDOW = (1600, 1100)
PAGE_TIMEOUT = 45.0
START_TIMEOUT = 60.0
START_ATTEMPTS = 2
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", f"--window-size={WINDOW[0]},{WINDOW[1]}", "--remote-debugging-port=0",
    "--remote-debugging-address=127.0.0.1", "--disable-dev-shm-usage", "--disable-breakpad",
    "--no-default-browser-check", "--password-store=basic",
]


class Browser:
    """One headless chromium page, driven over the DevTools protocol (websockets, sync)."""

    def __init__(self, chromium: str, profile: Path) -> None:
        from websockets.sync.client import connect

        port = self._start(chromium, profile)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as response:
            [page] = [target for target in json.load(response) if target["type"] == "page"]
        self.socket = connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=10)
        self.next_id = 0
        self.call("Emulation.setDeviceMetricsOverride", width=WINDOW[0], height=WINDOW[1],
                  deviceScaleFactor=1, mobile=False)  # the viewport, without the window's frame

    def _start(self, chromium: str, profile: Path) -> int:
        """Start chromium; its DevTools port. A start that does not listen is tried once more.

        On a cold CI machine one start never wrote its port file within 30 s (seen once, with
        no output kept); chromium's own log now goes into the failure message.
        """
        failures = []
        for attempt in range(START_ATTEMPTS):
            directory = profile / f"start-{attempt}"
            directory.mkdir()
            log = directory / "chromium.log"
            with log.open("wb") as output:
                self.process = subprocess.Popen(
                    [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={directory}", "about:blank"],
                    stdout=output, stderr=subprocess.STDOUT)
            port = self._devtools_port(directory / "DevToolsActivePort")
            if port is not None:
                return port
            self._stop()
            tail = " | ".join(log.read_text(errors="replace").splitlines()[-15:])
            failures.append(f"start {attempt + 1}: exit code {self.process.returncode}; log: {tail or '(empty)'}")
        raise AssertionError(f"chromium did not open its DevTools port within {START_TIMEOUT:.0f} s: "
                             + "; ".join(failures))

    def _devtools_port(self, path: Path) -> int | None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and self.process.poll() is None:
            if path.exists() and path.read_text().strip():
                return int(path.read_text().split()[0])
            time.sleep(0.1)
        return None

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=30))
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                return message["result"]

    def evaluate(self, expression: str) -> Any:
        return self.call("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")

    def open(self, url: str, *expected: str) -> tuple[str, str]:
        """Go to ``url``; once its text shows every ``expected`` string, its (text, html)."""
        self.call("Page.navigate", url=url)
        deadline = time.monotonic() + PAGE_TIMEOUT
        while True:
            text = " ".join((self.evaluate("document.body ? document.body.innerText : ''") or "").split())
            missing = [item for item in expected if item not in text]
            if not missing:
                return text, self.evaluate("document.documentElement.outerHTML")
            if time.monotonic() >= deadline:
                raise AssertionError(f"{url} did not show {missing} within {PAGE_TIMEOUT:.0f} s; it shows: {text}")
            time.sleep(0.25)

    def screenshot(self, path: Path) -> None:
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"]))

    def close(self) -> None:
        self.socket.close()
        self._stop()

    def _stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian's chromium, or the browser SLSA_MODELS_CHROMIUM names."""
    configured = os.environ.get("SLSA_MODELS_CHROMIUM")
    if configured:
        if not os.access(configured, os.X_OK):
            pytest.fail(f"SLSA_MODELS_CHROMIUM={configured} is not an executable")
        return configured
    found = shutil.which("chromium")
    if found is None:
        pytest.fail("chromium is not installed: run scripts/install-system-deps.sh first")
    return found


@pytest.fixture(scope="module")
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> SharedStack:
    return shared_stack(request.config, tmp_path_factory)


@pytest.fixture(scope="module")
def browser(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    session = Browser(chromium, tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield session
    finally:
        session.close()


def deploy_run(stack: SharedStack) -> dict[str, Any]:
    return stack.api.flow_run(stack.deploy_run_id)


def test_flow_run_page_shows_the_completed_deploy_run(stack: SharedStack, browser: Browser) -> None:
    run = deploy_run(stack)
    assert run["name"].startswith(f"deploy-{MODEL}-")
    browser.open(f"{stack.config.ui_url}/runs/flow-run/{run['id']}",
                 run["name"], "Completed", "Flow deploy-model", "Deployment deploy", "Work Pool slsa-models",
                 f"Beginning flow run '{run['name']}' for flow 'deploy-model'")  # its logs


def test_deployment_page_lists_the_deploy_run_and_its_trigger(stack: SharedStack, browser: Browser) -> None:
    deployment = stack.api.deployment("deploy-model", "deploy")
    run = deploy_run(stack)
    _, html = browser.open(f"{stack.config.ui_url}/deployments/deployment/{deployment['id']}",
                           f"{run['name']} deploy slsa-models Completed",  # its row: name, tags, state
                           "Triggers deploy-after-train", "Entrypoint flows/deploy.py:deploy_flow")
    assert f"/runs/flow-run/{run['id']}" in html


def test_verification_artifact_names_the_run_and_every_check(stack: SharedStack, browser: Browser,
                                                             tmp_path: Path) -> None:
    run = deploy_run(stack)
    [artifact] = [a for a in stack.api.artifacts(run["id"]) if a["key"] == f"verification-{MODEL}"]
    checks = re.findall(r"^- (✓ PASS|✗ \*\*FAIL\*\*) \*\*([a-z-]+)\*\*", artifact["data"], re.MULTILINE)
    assert checks and all(mark == "✓ PASS" for mark, _ in checks)
    digest = re.search(r"sha256:[0-9a-f]{64}", artifact["description"]).group(0)

    # The artifact's stable key lists this run's version of it ...
    _, html = browser.open(f"{stack.config.ui_url}/artifacts/key/verification-{MODEL}", run["name"])
    assert f"/artifacts/artifact/{artifact['id']}" in html
    # ... which shows the short heading, every check with its mark, the train run's link, and
    # links back to the deploy run.
    text, html = browser.open(f"{stack.config.ui_url}/artifacts/artifact/{artifact['id']}",
                              f"✓ DEPLOYED {MODEL} · {digest[:19]}", f"Flow Run {run['name']}",
                              f"Checks: 0 failed, {len(checks)} passed",
                              *(f"{mark} {name} expected:" for mark, name in checks))
    assert f"/runs/flow-run/{run['id']}" in html
    train_run = re.search(r"^- \*\*train run:\*\* \[flow run [0-9a-f]{8}\]\((/runs/flow-run/[0-9a-f-]{36})\)$",
                          artifact["data"], re.MULTILINE)
    assert train_run and f'href="{train_run.group(1)}"' in html
    # Expected and actual are readable without scrolling sideways: no check reaches past the window.
    overflow = browser.evaluate(
        "Array.from(document.querySelectorAll('li')).filter(e => e.innerText.includes('actual:')"
        " || e.innerText.includes('policy:')).filter(e => e.getBoundingClientRect().right > window.innerWidth"
        " || e.scrollWidth > e.clientWidth + 1).length")
    assert overflow == 0
    assert browser.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth") is True

    shot = tmp_path / "ui-deploy-run.png"
    browser.screenshot(shot)
    header = shot.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", header[16:24]) == WINDOW
    if os.environ.get("SLSA_MODELS_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(shot, SCREENSHOT)


def test_deployments_artifact_lists_what_is_deployed_for_every_model(stack: SharedStack, browser: Browser) -> None:
    [table] = [a for a in stack.api.artifacts(deploy_run(stack)["id"]) if a["key"] == "deployments"]
    rows = json.loads(table["data"]) if isinstance(table["data"], str) else table["data"]
    assert MODEL in [row["model"] for row in rows]
    browser.open(f"{stack.config.ui_url}/artifacts/key/deployments", "deployments")
