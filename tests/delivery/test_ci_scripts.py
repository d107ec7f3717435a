"""The helper scripts the workflows call: image digest updates and the generated-changes comment."""
from __future__ import annotations

import subprocess
import sys

import pytest

from tests.delivery.paths import SCRIPTS, load_script
from tests.tools import REPO

DIGEST = "sha256:" + "ab" * 32
SPEC = """# The assistant.
apiVersion: platform/v1
kind: Service
metadata:
  name: assistant
spec:
  image: ghcr.io/acme/platform-runtime:0.1.0@sha256:{old}  # built by main.yml
  port: 8080
"""


@pytest.fixture
def set_image_digest():
    return load_script("set_image_digest")


@pytest.fixture
def specs(tmp_path):
    (tmp_path / "assistant").mkdir()
    (tmp_path / "assistant" / "platform.yaml").write_text(SPEC.format(old="0" * 64), encoding="utf-8")
    (tmp_path / "checkout").mkdir()
    (tmp_path / "checkout" / "platform.yaml").write_text(
        "spec:\n  image: \"ghcr.io/acme/checkout:1.4.2\"\n", encoding="utf-8"
    )
    return tmp_path


def test_digest_update_rewrites_only_the_matching_image_line(set_image_digest, specs):
    changed = set_image_digest.update_specs(specs, "ghcr.io/acme/platform-runtime", "0.2.0-abc1234", DIGEST)
    assert changed == [specs / "assistant" / "platform.yaml"]
    expected = SPEC.format(old="0" * 64).replace(
        "platform-runtime:0.1.0@sha256:" + "0" * 64, f"platform-runtime:0.2.0-abc1234@{DIGEST}"
    )
    assert (specs / "assistant" / "platform.yaml").read_text(encoding="utf-8") == expected
    assert (specs / "checkout" / "platform.yaml").read_text(encoding="utf-8") == 'spec:\n  image: "ghcr.io/acme/checkout:1.4.2"\n'


def test_digest_update_is_idempotent(set_image_digest, specs):
    set_image_digest.update_specs(specs, "ghcr.io/acme/platform-runtime", "0.2.0", DIGEST)
    assert set_image_digest.update_specs(specs, "ghcr.io/acme/platform-runtime", "0.2.0", DIGEST) == []


def test_quoted_image_keeps_its_quotes(set_image_digest, specs):
    set_image_digest.update_specs(specs, "ghcr.io/acme/checkout", "1.5.0", DIGEST)
    assert (specs / "checkout" / "platform.yaml").read_text(encoding="utf-8") == f'spec:\n  image: "ghcr.io/acme/checkout:1.5.0@{DIGEST}"\n'


@pytest.mark.parametrize(
    ("image", "tag", "digest", "message"),
    [
        ("ghcr.io/acme/platform-runtime", "0.2.0", "sha256:abc", "not a digest"),
        ("ghcr.io/acme/platform-runtime:0.2.0", "0.2.0", DIGEST, "not an image repository"),
        ("ghcr.io/acme/platform-runtime", "bad tag", DIGEST, "not a valid image tag"),
        ("ghcr.io/acme/other", "0.2.0", DIGEST, "no spec under"),
    ],
)
def test_digest_update_rejects_bad_input_with_a_clear_message(set_image_digest, specs, image, tag, digest, message):
    with pytest.raises(set_image_digest.UsageError, match=message):
        set_image_digest.update_specs(specs, image, tag, digest)


def test_digest_update_cli_exits_2_without_a_traceback(specs):
    result = subprocess.run(
        [sys.executable, str(SCRIPTS / "set_image_digest.py"), "--image", "ghcr.io/acme/platform-runtime",
         "--tag", "1", "--digest", "sha256:nope", "--specs", str(specs)],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "is not a digest" in result.stderr


def test_repository_specs_reference_the_runtime_image(set_image_digest):
    """main.yml pushes ghcr.io/<owner>/platform-runtime; at least one spec must run it."""
    texts = [path.read_text(encoding="utf-8") for path in set_image_digest.spec_files(REPO / "specs")]
    runs = [text for text in texts if any(
        match and set_image_digest.repository_of(match["ref"]).endswith("/platform-runtime")
        for match in map(set_image_digest.IMAGE_LINE.match, text.splitlines())
    )]
    assert runs, "no spec runs the platform-runtime image that main.yml builds"


def git(repo, *args):
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True)


def test_generated_changes_lists_added_modified_and_deleted_files(tmp_path, monkeypatch):
    changes = load_script("generated_changes")
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "config", "user.email", "ci@example.invalid")
    git(tmp_path, "config", "user.name", "ci")
    (tmp_path / "generated").mkdir()
    for name in ("kept.yaml", "edited.yaml", "removed.yaml"):
        (tmp_path / "generated" / name).write_text(f"name: {name}\n", encoding="utf-8")
    (tmp_path / "README").write_text("outside generated/\n", encoding="utf-8")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "base")
    (tmp_path / "generated" / "edited.yaml").write_text("name: changed\n", encoding="utf-8")
    (tmp_path / "generated" / "removed.yaml").unlink()
    (tmp_path / "generated" / "new.yaml").write_text("name: new\n", encoding="utf-8")
    (tmp_path / "README").write_text("changed too, but not listed\n", encoding="utf-8")

    monkeypatch.chdir(tmp_path)
    found = changes.changed_files("HEAD", "generated")
    assert found == [("M", "generated/edited.yaml"), ("A", "generated/new.yaml"), ("D", "generated/removed.yaml")]
    body = changes.render(found, "generated", limit=2)
    assert body.startswith(changes.MARKER)
    assert "3 file(s): 1 added, 1 deleted, 1 modified." in body
    assert "| modified | `generated/edited.yaml` |" in body and "| added | `generated/new.yaml` |" in body
    assert "... and 1 more" in body


def test_generated_changes_says_so_when_nothing_changes():
    changes = load_script("generated_changes")
    assert "No file under `generated/` changes" in changes.render([], "generated", limit=10)
