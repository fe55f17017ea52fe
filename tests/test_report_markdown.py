"""The deploy report's markdown: values from provenance and records stay plain text, links only where
we build them (a Prefect flow run, a GitHub Actions run, a GitHub commit)."""

from __future__ import annotations

import pytest

from slsa_models.deploy import summary
from tasks.report import escape, link


@pytest.mark.parametrize("hostile, shown", [
    ("[click](https://evil.example)", "\\[click\\]\\(https\\://evil.example\\)"),
    ("![x](https://evil.example/pixel.png)", "\\!\\[x\\]\\(https\\://evil.example/pixel.png\\)"),
    ("<img src=x onerror=alert(1)>", "\\<img src=x onerror=alert\\(1\\)\\>"),
    ("a | b", "a \\| b"),
    ("line\nbreak\r\n# heading", "line break \\# heading"),
    ("see www.evil.example", "see www\\.evil.example"),
    ("`code` *bold* _it_", "\\`code\\` \\*bold\\* \\_it\\_"),
    ("\x1b[31mred", "\\\\x1b\\[31mred"),  # shown as \x1b[31mred
])
def test_hostile_values_are_plain_text(hostile: str, shown: str) -> None:
    assert escape(hostile) == shown


@pytest.mark.parametrize("invocation, expected", [
    ("58e3a9bf-f39e-4822-b009-ecb76a9c7794", ("flow run 58e3a9bf", "/runs/flow-run/58e3a9bf-f39e-4822-b009-ecb76a9c7794")),
    ("https://github.com/acme/models/actions/runs/123/attempts/1",
     ("acme/models/actions/runs/123/attempts/1", "https://github.com/acme/models/actions/runs/123/attempts/1")),
    ("https://evil.example/runs/1", ("https://evil.example/runs/1", None)),
    ("javascript:alert(1)", ("javascript:alert(1)", None)),
    (None, ("not recorded", None)),
])
def test_only_known_run_ids_become_links(invocation: str | None, expected: tuple[str, str | None]) -> None:
    assert summary.train_run_link(invocation) == expected
    label, url = expected
    assert link(label, url) == (f"[{escape(label)}]({url})" if url else escape(label))


def test_only_github_commits_become_links() -> None:
    commit = "5b0f2a8e" * 5
    assert summary.source_link("git+https://github.com/acme/models@refs/heads/main", commit) == (
        f"acme/models @ {commit[:12]}", f"https://github.com/acme/models/commit/{commit}")
    assert summary.source_link("file:///work/main", commit) == (f"file:///work/main @ {commit[:12]}", None)
    assert summary.source_link("git+https://github.com/acme/models", "not-a-sha") == ("acme/models @ not-a-sha", None)
    assert summary.source_link(None, None) == ("unverified", None)
