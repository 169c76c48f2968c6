"""Find an Asterisk 22 to run: the system one, or Debian unstable's in a chroot we build.

Debian bookworm has no Asterisk; Debian unstable has 22.x. We debootstrap a minimal sid into
a cache folder once (about a minute) and run Asterisk inside it with chroot.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import structlog

from ivr.errors import AsteriskError
from ivr.settings import Settings

log = structlog.get_logger(__name__)

_SID_PACKAGES = ["asterisk"]


@dataclass(frozen=True)
class AsteriskInstall:
    """How to invoke Asterisk: a command prefix (empty or `chroot ROOT`) and the binary."""

    chroot: Path | None
    binary: str

    def command(self, *args: str) -> list[str]:
        """The argv that runs `asterisk ARGS` in this installation."""
        prefix = ["chroot", str(self.chroot)] if self.chroot else []
        return [*prefix, self.binary, *args]

    def version(self) -> str:
        """`asterisk -V` of this installation."""
        out = subprocess.run(self.command("-V"), capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise AsteriskError(f"asterisk -V failed: {out.stderr.strip() or out.stdout.strip()}")
        return out.stdout.strip()


def find_or_provision(settings: Settings, *, allow_provision: bool = True) -> AsteriskInstall:
    """The system Asterisk if on PATH, else the chroot one (built now if missing)."""
    if settings.asterisk_binary not in ("auto", "chroot"):
        return AsteriskInstall(chroot=None, binary=settings.asterisk_binary)
    system = shutil.which("asterisk")
    if settings.asterisk_binary == "auto" and system:
        return AsteriskInstall(chroot=None, binary=system)
    root = settings.asterisk_root
    if not (root / "usr" / "sbin" / "asterisk").exists():
        if not allow_provision:
            raise AsteriskError(f"no Asterisk at {root}; run `ivr asterisk up` to provision it")
        provision_chroot(root)
    return AsteriskInstall(chroot=root, binary="/usr/sbin/asterisk")


def provision_chroot(root: Path) -> None:
    """Debootstrap Debian sid into ROOT and install Asterisk there."""
    if not shutil.which("debootstrap"):
        raise AsteriskError("debootstrap is not installed: `apt-get install debootstrap` first")
    partial = root.with_name(root.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.parent.mkdir(parents=True, exist_ok=True)
    log.info("asterisk_provision_start", root=str(root))
    _run(["debootstrap", "--variant=minbase", "sid", str(partial)], "debootstrap sid")
    _run_in(partial, "apt-get -o Acquire::Check-Valid-Until=false update -qq", "apt-get update")
    install = "apt-get install -y -qq --no-install-recommends " + " ".join(_SID_PACKAGES)
    _run_in(partial, install, "apt-get install asterisk")
    # only a complete tree gets the final name, so a cut-off provisioning is redone
    partial.rename(root)
    log.info("asterisk_provision_done", root=str(root))


def _run_in(root: Path, script: str, what: str) -> None:
    env_script = f"DEBIAN_FRONTEND=noninteractive {script}"
    _run(["chroot", str(root), "sh", "-c", env_script], what)


def _run(argv: list[str], what: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-15:]
        raise AsteriskError(f"{what} failed (exit {done.returncode}):\n" + "\n".join(tail))
