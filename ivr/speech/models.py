"""`ivr models pull`: download (or take a local zip), verify SHA-256, unzip safely, install.

The checksums below were cross-checked, not computed here (these machines cannot reach the
model site): the Hugging Face LFS metadata of rhasspy/vosk-models (zh/vosk-model-small-cn-0.22.zip)
and the pinned registry in VocaHQ/vocalinux (src/vocalinux/utils/model_hashes.json) agree on the
small model's digest and size; the big model's digest and size come from that registry and match
other independent projects that pin it. A deployer who mirrors a different build passes --sha256.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import shutil
import socket
import stat
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import structlog

from ivr.errors import ModelDownloadError
from ivr.settings import Settings

log = structlog.get_logger(__name__)

Progress = Callable[[int, int | None], None]  # (bytes so far, total or None)
CONNECT_TIMEOUT = 15.0  # seconds; these hosts usually cannot reach the model site at all
CHUNK = 1 << 20
MARKER = ".ivr-model.json"  # written into an installed model: what was verified, from where


@dataclass(frozen=True)
class ModelSpec:
    """A downloadable vosk model: its directory name, URL, pinned SHA-256 and size in bytes."""

    key: str
    name: str
    url: str
    sha256: str | None  # None: the deployer must pin it (pull refuses without --sha256)
    size: int


MODELS: dict[str, ModelSpec] = {
    "zh-small": ModelSpec(
        key="zh-small",
        name="vosk-model-small-cn-0.22",
        url="https://alphacephei.com/vosk/models/vosk-model-small-cn-0.22.zip",
        sha256="3af8b0e7e0f835ae9d414ce5df580237a3cfb08d586c9fbbb0f7ff29ad5b14ba",
        size=43_898_754,
    ),
    "zh-big": ModelSpec(
        key="zh-big",
        name="vosk-model-cn-0.22",
        url="https://alphacephei.com/vosk/models/vosk-model-cn-0.22.zip",
        sha256="7f5580bf7ca3d9e8ce8be68337378950ed78ef974df7a7d4ead8dbe32bec2fa1",
        size=1_358_736_686,
    ),
}


def spec_for_path(model_path: Path) -> ModelSpec:
    """The spec whose directory name matches a model path (zh-small when none does)."""
    return next((s for s in MODELS.values() if s.name == model_path.name), MODELS["zh-small"])


def run_pull(
    key: str, settings: Settings, *, from_file: Path | None, sha256: str | None, url: str | None
) -> Path:
    """CLI backend: install model `key` next to settings.vosk_model_path; return its path."""
    if key not in MODELS:
        raise ModelDownloadError(f"unknown model {key!r}; choose one of {', '.join(MODELS)}")
    spec = MODELS[key]
    dest_dir = settings.vosk_model_path.parent
    installed = _installed_digest(dest_dir / spec.name)
    if installed is not None and installed == (sha256 or spec.sha256 or "").strip().lower():
        log.info("model_already_installed", model=spec.name, path=str(dest_dir / spec.name))
        return dest_dir / spec.name
    progress = None if from_file else stderr_progress(spec.name)
    return pull_model(
        spec, dest_dir, url=url, sha256=sha256, progress=progress, from_file=from_file
    )


def pull_model(
    spec: ModelSpec,
    dest_dir: Path,
    *,
    url: str | None = None,
    sha256: str | None = None,
    progress: Progress | None = None,
    from_file: Path | None = None,
) -> Path:
    """Fetch (or take from_file), verify, unzip and atomically install; return the model dir."""
    expected = (sha256 or spec.sha256 or "").strip().lower()
    if not expected:
        raise ModelDownloadError(
            f"no SHA-256 pinned for {spec.name}: refusing to install an unverified model; "
            "pass --sha256 <digest of the zip you trust>"
        )
    dest_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=dest_dir, prefix=f".pull-{spec.name}-"))
    try:
        archive = from_file or _download(url or spec.url, work / "model.zip", spec, progress)
        _verify(archive, expected)
        root = _extract(archive, work / "unpacked")
        (root / MARKER).write_text(
            json.dumps(
                {"name": spec.name, "sha256": expected, "source": str(from_file or url or spec.url)}
            )
        )
        return _install(root, dest_dir / spec.name, trash=work / "previous")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _download(url: str, dst: Path, spec: ModelSpec, progress: Progress | None) -> Path:
    try:
        with urllib.request.urlopen(url, timeout=CONNECT_TIMEOUT) as reply, dst.open("wb") as out:
            total = int(reply.headers.get("Content-Length") or 0) or None
            done = 0
            while block := reply.read(CHUNK):
                out.write(block)
                done += len(block)
                if progress:
                    progress(done, total)
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        raise ModelDownloadError(_unreachable_message(url, spec, exc)) from exc
    if total is not None and done != total:
        raise ModelDownloadError(f"download of {url} stopped at {done} of {total} bytes; retry")
    return dst


def _unreachable_message(url: str, spec: ModelSpec, exc: BaseException) -> str:
    return (
        f"could not download {url}: {_why(exc)}.\n"
        f"To install by hand: download {spec.url} on a machine with internet access "
        f"(~{spec.size / 1e6:.0f} MB), copy it here, then run\n"
        f"  ivr models pull {spec.key} --from-file {spec.name}.zip"
    )


def _why(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"the server answered HTTP {exc.code} {exc.reason}"
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, socket.gaierror):
        return f"the host name does not resolve (DNS: {reason.strerror})"
    if isinstance(reason, ConnectionRefusedError):
        return "the connection was refused"
    if isinstance(reason, TimeoutError):
        return f"no answer within {CONNECT_TIMEOUT:.0f} s (timeout)"
    return str(reason) or type(reason).__name__


def _verify(archive: Path, expected: str) -> None:
    digest = hashlib.sha256()
    try:
        with archive.open("rb") as fh:
            while block := fh.read(CHUNK):
                digest.update(block)
    except OSError as exc:
        raise ModelDownloadError(f"cannot read {archive}: {exc}") from exc
    if digest.hexdigest() != expected:
        raise ModelDownloadError(
            f"SHA-256 mismatch for {archive.name}: got {digest.hexdigest()}, expected {expected}; "
            "the file is corrupt or not the model you meant (nothing was installed)"
        )


def _extract(archive: Path, into: Path) -> Path:
    try:
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                _check_member(info)
            zf.extractall(into)
    except zipfile.BadZipFile as exc:
        raise ModelDownloadError(f"{archive.name} is not a valid zip: {exc}") from exc
    return _model_root(into)


def _check_member(info: zipfile.ZipInfo) -> None:
    name = info.filename.replace("\\", "/")
    parts = PurePosixPath(name).parts
    if name.startswith("/") or ".." in parts or (parts and ":" in parts[0]):
        raise ModelDownloadError(f"unsafe path in model zip: {info.filename!r} (refusing)")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise ModelDownloadError(f"symbolic link in model zip: {info.filename!r} (refusing)")


def _model_root(into: Path) -> Path:
    # Upstream zips hold one top-level directory named after the model; accept a bare tree too.
    for candidate in (into, *sorted(p for p in into.iterdir() if p.is_dir())):
        if (candidate / "am").is_dir() and (candidate / "conf").is_dir():
            return candidate
    raise ModelDownloadError("the zip does not contain a vosk model (no am/ and conf/ directory)")


def _install(root: Path, target: Path, *, trash: Path) -> Path:
    # Same filesystem (the work dir is inside dest_dir), so each rename is atomic: readers see
    # the old model or the new one, never half of one. The old one leaves with the work dir.
    if target.exists():
        os.replace(target, trash)
    os.replace(root, target)
    log.info("model_installed", path=str(target))
    return target


def _installed_digest(model_dir: Path) -> str | None:
    try:
        return str(json.loads((model_dir / MARKER).read_text())["sha256"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def stderr_progress(label: str, *, width: int = 30) -> Progress:
    """A plain-text progress bar on stderr, redrawn at most ~10 times a second."""
    last = [0.0]

    def show(done: int, total: int | None) -> None:
        now = time.monotonic()
        finished = total is not None and done >= total
        if now - last[0] < 0.1 and not finished:
            return
        last[0] = now
        if total:
            filled = width * done // total
            bar = f"[{'#' * filled}{'.' * (width - filled)}] {100 * done // total:3d}%"
        else:
            bar = "[size unknown]"
        print(
            f"\r{label} {bar} {done / 1e6:.1f} MB",
            end="\n" if finished else "",
            file=sys.stderr,
            flush=True,
        )

    return show
