"""`ivr models pull` against a real HTTP server on 127.0.0.1, with small fake model zips."""

from __future__ import annotations

import functools
import hashlib
import http.server
import socket
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivr.errors import ModelDownloadError
from ivr.speech.models import MARKER, MODELS, ModelSpec, pull_model, run_pull, stderr_progress
from tests.speech_fixtures import speech_settings

NAME = "vosk-model-test-0.1"


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A directory served over HTTP on 127.0.0.1: (directory, base URL)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(
        target=functools.partial(server.serve_forever, poll_interval=0.05), daemon=True
    )
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def model_zip(path: Path, *, extra: dict[str, bytes] | None = None, top: str = NAME) -> str:
    """Write a zip shaped like vosk's (one top directory with am/ and conf/); its SHA-256."""
    members = {f"{top}/am/final.mdl": b"\x00" * 300_000, f"{top}/conf/model.conf": b"--beam=10\n"}
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in {**members, **(extra or {})}.items():
            zf.writestr(name, data)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def spec(url: str, sha256: str | None) -> ModelSpec:
    return ModelSpec(key="zh-small", name=NAME, url=url, sha256=sha256, size=300_000)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_good_checksum_installs(served: tuple[Path, str], tmp_path: Path) -> None:
    root, base = served
    digest = model_zip(root / "m.zip")
    seen: list[tuple[int, int | None]] = []
    dest = tmp_path / "models"
    path = pull_model(
        spec(f"{base}/m.zip", digest), dest, progress=lambda d, t: seen.append((d, t))
    )
    assert path == dest / NAME
    assert (path / "am" / "final.mdl").stat().st_size == 300_000
    assert digest in (path / MARKER).read_text()
    assert [p.name for p in dest.iterdir()] == [NAME]  # no temp files left
    size = (root / "m.zip").stat().st_size
    assert seen[-1] == (size, size)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_wrong_checksum_leaves_nothing(served: tuple[Path, str], tmp_path: Path) -> None:
    root, base = served
    model_zip(root / "m.zip")
    dest = tmp_path / "models"
    with pytest.raises(ModelDownloadError, match="SHA-256 mismatch"):
        pull_model(spec(f"{base}/m.zip", "0" * 64), dest)
    assert list(dest.iterdir()) == []


@pytest.mark.parametrize("evil", ["../escaped.txt", f"{NAME}/../../escaped.txt", "/tmp/abs.txt"])
def test_unsafe_zip_entries_rejected(served: tuple[Path, str], tmp_path: Path, evil: str) -> None:
    root, base = served
    digest = model_zip(root / "m.zip", extra={evil: b"gotcha"})
    dest = tmp_path / "a" / "models"
    with pytest.raises(ModelDownloadError, match="unsafe path"):
        pull_model(spec(f"{base}/m.zip", digest), dest)
    assert list(dest.iterdir()) == []
    assert not list(tmp_path.rglob("escaped.txt"))


def test_unreachable_url_explains_manual_install(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/x.zip"
    started = time.monotonic()
    with pytest.raises(ModelDownloadError) as caught:
        pull_model(spec(url, "0" * 64), tmp_path / "models")
    message = str(caught.value)
    assert time.monotonic() - started < 5
    assert url in message and "refused" in message
    assert f"ivr models pull zh-small --from-file {NAME}.zip" in message
    assert list((tmp_path / "models").iterdir()) == []


def test_dns_failure_and_http_error_are_named(served: tuple[Path, str], tmp_path: Path) -> None:
    with pytest.raises(ModelDownloadError, match="does not resolve"):
        pull_model(spec("http://model-host.invalid/x.zip", "0" * 64), tmp_path / "m1")
    _, base = served
    with pytest.raises(ModelDownloadError, match="HTTP 404"):
        pull_model(spec(f"{base}/missing.zip", "0" * 64), tmp_path / "m2")


def test_no_checksum_refused_unless_given(tmp_path: Path) -> None:
    digest = model_zip(tmp_path / "local.zip")
    dest = tmp_path / "models"
    with pytest.raises(ModelDownloadError, match="--sha256"):
        pull_model(spec("http://unused.invalid/", None), dest, from_file=tmp_path / "local.zip")
    path = pull_model(
        spec("http://unused.invalid/", None), dest, from_file=tmp_path / "local.zip", sha256=digest
    )
    assert (path / "conf" / "model.conf").is_file()


def test_reinstall_replaces_the_old_model(tmp_path: Path) -> None:
    dest = tmp_path / "models"
    first = model_zip(tmp_path / "one.zip", extra={f"{NAME}/old-only.txt": b"1"})
    second = model_zip(tmp_path / "two.zip", extra={f"{NAME}/new-only.txt": b"2"})
    pull_model(spec("", first), dest, from_file=tmp_path / "one.zip")
    path = pull_model(spec("", second), dest, from_file=tmp_path / "two.zip")
    assert (path / "new-only.txt").exists() and not (path / "old-only.txt").exists()
    assert [p.name for p in dest.iterdir()] == [NAME]


def test_run_pull_installs_where_settings_look(tmp_path: Path) -> None:
    model_dir = tmp_path / "var" / "models" / MODELS["zh-small"].name
    settings = speech_settings(tmp_path, vosk_model_path=model_dir)
    archive = tmp_path / "download.zip"
    digest = model_zip(archive, top=MODELS["zh-small"].name)
    path = run_pull("zh-small", settings, from_file=archive, sha256=digest, url=None)
    assert path == model_dir and (model_dir / "am" / "final.mdl").is_file()
    archive.unlink()  # already installed with this digest: nothing to fetch again
    assert run_pull("zh-small", settings, from_file=archive, sha256=digest, url=None) == path
    with pytest.raises(ModelDownloadError, match="unknown model"):
        run_pull("en", settings, from_file=None, sha256=None, url=None)


def test_pinned_checksums_look_like_sha256() -> None:
    for model in MODELS.values():
        assert model.sha256 is not None and len(model.sha256) == 64
        int(model.sha256, 16)
        assert model.url.endswith(f"/{model.name}.zip")


def test_progress_bar_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    show = stderr_progress("model")
    show(0, 2_000_000)
    show(2_000_000, 2_000_000)
    err = capsys.readouterr().err
    assert "100%" in err and "2.0 MB" in err and err.endswith("\n")
