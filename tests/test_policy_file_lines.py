"""Policy files that cannot be used: each is refused in one line naming the file, the table
and the key; and the defaults a file leaves unsaid are the fail-closed ones. (Found by
mutation testing of verify/policy_file: the other policy tests passed with these broken.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from slsa_models.errors import InputError
from slsa_models.provenance.keys import generate_key_pair
from slsa_models.verify import load_policy

GENERATOR = '[slsa-github-generator]\nsource-uri = "github.com/acme/models"\n'


@pytest.fixture()
def keys(tmp_path: Path) -> Path:
    generate_key_pair(tmp_path / "k.pem", tmp_path / "k.pub.pem")
    (tmp_path / "empty.pem").write_text("# no certificate here\n")
    return tmp_path / "k.pub.pem"


def refusal(tmp_path: Path, text: str) -> str:
    path = tmp_path / "policy.toml"
    path.write_text("version = 2\n" + text)
    with pytest.raises(InputError) as raised:
        load_policy(path)
    return str(raised.value).replace(str(path), "POLICY").replace(str(tmp_path), "DIR")


@pytest.mark.parametrize(("text", "line"), [
    (GENERATOR + 'triggers = [""]\n', 'POLICY: [slsa-github-generator] triggers: expected an array of GitHub event names, e.g. triggers = ["push", "release"]'),
    (GENERATOR + "trusted-root = 5\n", 'POLICY: [slsa-github-generator] trusted-root: expected a non-empty string, got an integer'),
    (GENERATOR + f'trusted-root = "{"a" * 300}"\n', f"POLICY: [slsa-github-generator] trusted-root: DIR/{'a' * 300}: no such file"),
    (GENERATOR + 'trusted-root = "bad\\u0001name"\n', "POLICY: [slsa-github-generator] trusted-root: 'bad\\x01name': not a usable path (control characters, or longer than 4096 characters)"),
    ('[oms]\npublic-key = [""]\n', 'POLICY: [oms] public-key: expected a string or an array of non-empty strings'),
    ("[oms]\npublic-key = 5\n", 'POLICY: [oms] public-key: expected a string or an array of non-empty strings'),
    ('[oms]\npublic-key = ["missing.pub"]\n', 'POLICY: [oms] DIR/missing.pub: no such public key file'),
    ('[oms]\ncertificate-chain = [5]\n', 'POLICY: [oms] certificate-chain: expected a string or an array of non-empty strings'),
    ('[oms]\ncertificate-chain = ["missing.pem"]\n', 'POLICY: [oms] DIR/missing.pem: no such certificate file'),
    ('[oms]\nidentity = 5\nidentity-provider = "https://issuer.example"\n', 'POLICY: [oms] identity: expected a non-empty string, got an integer'),
    ('[oms]\nidentity = "me@example.com"\nidentity-provider = 5\n', 'POLICY: [oms] identity-provider: expected a non-empty string, got an integer'),
    ('[oms]\nidentity = "me@example.com"\nidentity-provider = "https://i.example"\ntrusted-root = 5\n', 'POLICY: [oms] trusted-root: expected a non-empty string, got an integer'),
    ('[oms]\nidentity = "me@example.com"\nidentity-provider = "https://i.example"\nignore-paths = 5\n', 'POLICY: [oms] ignore-paths: expected a string or an array of non-empty strings'),
    ('[local-builder.gpu]\npublic-key = 5\n', 'POLICY: [local-builder.gpu] public-key: expected a non-empty string, got an integer'),
    ('[local-builder.gpu]\npublic-key-pem = 5\n', 'POLICY: [local-builder.gpu] public-key-pem: expected a non-empty string, got an integer'),
    ('[local-builder.gpu]\npublic-key-pem = "not a key"\nbuilder-id = "https://ci.example.com/b"\n', 'POLICY: [local-builder.gpu] public-key-pem: not a PEM public key'),
    ('[local-builder.gpu]\npublic-key = "k.pub.pem"\nbuilder-id = 5\n', 'POLICY: [local-builder.gpu] builder-id: expected a non-empty string, got an integer'),
    ('[local-builder.gpu]\npublic-key = "k.pub.pem"\nbuilder-id = "https://ci.example.com/b"\nsource-uri = 5\n', 'POLICY: [local-builder.gpu] source-uri: expected a non-empty string, got an integer'),
    ('[local-builder.gpu]\npublic-key = "' + "a" * 4097 + '"\n', f"POLICY: [local-builder.gpu] public-key: {'a' * 60!r}: not a usable path (control characters, or longer than 4096 characters)"),
    ('[oms]\npublic-key = ["bad\\u0001.pub"]\n',
     "POLICY: [oms] public-key: 'bad\\x01.pub': not a usable path (control characters, or longer than 4096 characters)"),
    ('[oms]\ncertificate-chain = ["bad\\u0001.pem"]\n', "POLICY: [oms] certificate-chain: 'bad\\x01.pem': not a "
     "usable path (control characters, or longer than 4096 characters)"),
    ('[oms]\ncertificate-chain = ["k.pub.pem"]\n', "POLICY: [oms] DIR/k.pub.pem: not a PEM certificate file"),
    ('[oms]\ncertificate-chain = ["empty.pem"]\n', "POLICY: [oms] DIR/empty.pem: not a PEM certificate file"),
    (GENERATOR + "deny-self-hosted-runners = false\n",  # an attestation rule: gh's flag, not slsa-verifier's
     "POLICY: unknown key 'deny-self-hosted-runners' in [slsa-github-generator]; expected one of: source-uri, "
     "source-tag, source-versioned-tag, source-branch, builder-id, build-workflow-inputs, trusted-root, triggers"),
    ("this is not toml\n", "POLICY: not valid TOML: Expected '=' after a key in a key/value pair (at line 2, column 6)"),
    (GENERATOR + "[slsa-github-generator.build-workflow-inputs]\nepochs = 1" + "1" * 4400 + "\n", 'POLICY: a number with more than 4300 digits; is this a policy file?'),
])
def test_an_unusable_policy_file_is_one_line(tmp_path: Path, keys: Path, text: str, line: str) -> None:
    assert refusal(tmp_path, text) == line


def test_what_a_file_leaves_unsaid_fails_closed(tmp_path: Path, keys: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text('version = 2\n[github-attestation]\nowner = "acme"\n[oms]\npublic-key = ["k.pub.pem"]\n')
    policy = load_policy(path)
    attestation, oms = policy.kinds
    assert attestation.deny_self_hosted_runners is True  # the gate's default, unlike gh's flag
    assert oms.ignore_unsigned_files is False and policy.accept_unnamed is False
    assert [key.name for key in oms.public_keys] == ["k.pub.pem"]
    path.write_text("version = 2\naccept-unnamed = true\n" + GENERATOR)
    assert load_policy(path).accept_unnamed is True
    path.write_text('version = 2\n[github-attestation]\nowner = "acme"\ndeny-self-hosted-runners = false\n')
    assert load_policy(path).kinds[0].deny_self_hosted_runners is False  # said: as said


def test_a_path_of_4096_characters_is_the_longest_taken(tmp_path: Path) -> None:
    name = "a" * 4096  # taken as a path; too long for the file system to hold, and said so
    line = refusal(tmp_path, f'[oms]\npublic-key = ["{name}"]\n')
    assert re.fullmatch(rf"POLICY: \[oms\] 'DIR/{name}': [^\n]*name too long", line), line


def test_a_file_too_large_for_a_policy(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_bytes(b"#" * (1024 * 1024 + 1))
    with pytest.raises(InputError) as raised:
        load_policy(path)
    assert str(raised.value) == f"{path}: 1.0 MiB is larger than the 1 MiB limit for a policy file; is this a policy file?"
