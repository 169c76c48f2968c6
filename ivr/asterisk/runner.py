"""Start, stop and inspect the bundled Asterisk (`ivr asterisk up|down|status`)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import structlog

from ivr.asterisk.config import asterisk_state_dir, render_config
from ivr.asterisk.provision import AsteriskInstall, find_or_provision
from ivr.errors import AsteriskError
from ivr.settings import Settings

log = structlog.get_logger(__name__)

# Asterisk processes this Python process started: kept so they are reaped, not left zombies
_children: dict[int, subprocess.Popen[bytes]] = {}

BOOT_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 15.0
UNMOUNT_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class AsteriskStatus:
    """What `ivr asterisk status` reports."""

    running: bool
    pid: int | None
    version: str | None
    ami_port_open: bool


def pid_file(settings: Settings) -> Path:
    """The pid of the Asterisk we started."""
    return asterisk_state_dir(settings) / "ivr-asterisk.pid"


def up(settings: Settings) -> AsteriskStatus:
    """Provision if needed, render config, mount shared paths, start and wait for boot."""
    current = status(settings)
    if current.running:
        return current
    install = find_or_provision(settings)
    conf = render_config(settings)
    _mount_shared_paths(settings, install)
    log_path = asterisk_state_dir(settings) / "log" / "console.log"
    with log_path.open("ab") as console:
        proc = subprocess.Popen(
            install.command("-C", str(conf), "-f", "-n"),
            stdin=subprocess.DEVNULL,
            stdout=console,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # our Ctrl-C must not reach Asterisk directly
        )
    _children[proc.pid] = proc
    pid_file(settings).write_text(str(proc.pid))
    try:
        _wait_fully_booted(settings, install, conf, proc)
    except AsteriskError:
        down(settings)
        raise
    log.info("asterisk_up", pid=proc.pid, ami_port=settings.ami_port)
    return status(settings)


def down(settings: Settings) -> None:
    """Stop our Asterisk and remove the bind mounts; leave nothing behind."""
    conf = asterisk_state_dir(settings) / "etc" / "asterisk.conf"
    pid = _read_pid(settings)
    # a stale pid file (after a reboot) may name someone else's process: check it is ours
    if pid is not None and _alive(pid) and pid in _processes_using(str(conf)):
        install = find_or_provision(settings, allow_provision=False)
        _remote(install, conf, "core stop now", timeout=5)
        if not _wait_exit(pid, STOP_TIMEOUT_SECONDS):
            _kill(pid)
    pid_file(settings).unlink(missing_ok=True)
    _reap_exited_children()
    _unmount_shared_paths(settings)
    log.info("asterisk_down")


def status(settings: Settings) -> AsteriskStatus:
    """Whether our Asterisk runs, its pid and version, and whether AMI listens."""
    pid = _read_pid(settings)
    running = pid is not None and _alive(pid)
    version = None
    if running:
        install = find_or_provision(settings, allow_provision=False)
        conf = asterisk_state_dir(settings) / "etc" / "asterisk.conf"
        version = _remote(install, conf, "core show version", timeout=5) or None
    return AsteriskStatus(running, pid if running else None, version, _port_open(settings))


def leftovers(settings: Settings) -> list[str]:
    """What a stopped Asterisk left behind: a live process or a bind mount (should be none)."""
    conf = str(asterisk_state_dir(settings) / "etc" / "asterisk.conf")
    found = [f"asterisk process {pid}" for pid in _processes_using(conf) if _alive(pid)]
    root = settings.asterisk_root
    found += [
        f"mount {root / p.relative_to('/')}"
        for p in _shared_paths(settings)
        if _is_mount(root / p.relative_to("/"))
    ]
    return found


def _processes_using(conf: str) -> list[int]:
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue  # the process ended while we looked
        if conf.encode() in argv and b"-f" in argv:
            pids.append(int(cmdline.parent.name))
    return pids


def remote_command(settings: Settings, command: str, timeout: float = 10) -> str:
    """Run an Asterisk CLI command on our running Asterisk (`asterisk -rx`)."""
    install = find_or_provision(settings, allow_provision=False)
    conf = asterisk_state_dir(settings) / "etc" / "asterisk.conf"
    return _remote(install, conf, command, timeout=timeout)


def _wait_fully_booted(
    settings: Settings, install: AsteriskInstall, conf: Path, proc: subprocess.Popen[bytes]
) -> None:
    deadline = time.monotonic() + BOOT_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AsteriskError(
                f"Asterisk exited with {proc.returncode} while starting; see "
                f"{asterisk_state_dir(settings) / 'log'}"
            )
        booted = _remote(install, conf, "core waitfullybooted", timeout=5)
        if "fully booted" in booted.lower() and _port_open(settings):
            return
        time.sleep(0.3)
    raise AsteriskError(f"Asterisk did not boot within {BOOT_TIMEOUT_SECONDS:.0f} s")


def _remote(install: AsteriskInstall, conf: Path, command: str, timeout: float) -> str:
    try:
        done = subprocess.run(
            install.command("-C", str(conf), "-rx", command),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return ""
    return done.stdout if done.returncode == 0 else ""


def _shared_paths(settings: Settings) -> list[Path]:
    # the same absolute paths inside the chroot, so a file name means one thing to both
    return [asterisk_state_dir(settings), settings.recordings_dir]


def _mount_shared_paths(settings: Settings, install: AsteriskInstall) -> None:
    if install.chroot is None:
        return
    for path in _shared_paths(settings):
        path.mkdir(parents=True, exist_ok=True)
        target = install.chroot / path.relative_to("/")
        target.mkdir(parents=True, exist_ok=True)
        if not _is_mount(target):
            _check(["mount", "--bind", str(path), str(target)], f"bind-mount {path}")


def _unmount_shared_paths(settings: Settings) -> None:
    root = settings.asterisk_root
    for path in _shared_paths(settings):
        target = root / path.relative_to("/")
        while _is_mount(target):
            _unmount(target)


def _unmount(target: Path) -> None:
    # a just-killed Asterisk may hold the mount for a moment while the kernel tears it down
    deadline = time.monotonic() + UNMOUNT_TIMEOUT_SECONDS
    while True:
        done = subprocess.run(["umount", str(target)], capture_output=True, text=True, check=False)
        if done.returncode == 0:
            return
        if time.monotonic() > deadline:
            raise AsteriskError(f"unmount {target} failed: {done.stderr.strip()}")
        time.sleep(0.2)


def _is_mount(path: Path) -> bool:
    # os.path.ismount misses bind mounts within one file system; mountinfo does not
    with open("/proc/self/mountinfo") as info:
        return any(line.split()[4] == str(path) for line in info)


def _check(argv: list[str], what: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise AsteriskError(f"{what} failed: {done.stderr.strip()}")


def _read_pid(settings: Settings) -> int | None:
    try:
        return int(pid_file(settings).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie child of ours is not running
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def _wait_exit(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(pid)
        if not _alive(pid):
            return True
        time.sleep(0.1)
    return False


def _reap_exited_children() -> None:
    # an Asterisk killed from outside (a crash test, the OOM killer) is still ours to reap
    for pid, child in list(_children.items()):
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=2)
        if child.returncode is not None:
            del _children[pid]


def _reap(pid: int) -> None:
    child = _children.get(pid)
    if child is not None:
        if child.poll() is not None:
            del _children[pid]
        return
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _kill(pid: int) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        if _wait_exit(pid, 5):
            return


def _port_open(settings: Settings) -> bool:
    try:
        with socket.create_connection((settings.ami_host, settings.ami_port), timeout=0.5):
            return True
    except OSError:
        return False
