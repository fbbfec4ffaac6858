"""Reading and writing key files safely, and the one error every key file problem becomes.

Rules kept here: a secret file is created with mode 0600 from its first byte (never
written then chmod-ed, which leaves a window where others can read it); every file is
written to a temporary name, flushed to the medium and renamed, so a USB stick pulled
right after ``tacmesh keys issue`` holds either the old file or the new one, never half.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

SECRET_MODE = 0o600
PUBLIC_MODE = 0o644
SEED_LEN = 32


class KeyFileError(Exception):
    """A key file is missing, unreadable, malformed, tampered with or too open.

    The message names the file, says what is wrong and what to do, on one line, so the
    command line can print it as is."""

    def __init__(self, path: Path, problem: str, fix: str) -> None:
        self.path = path
        self.problem = problem
        self.fix = fix
        super().__init__(f"{path}: {problem}; {fix}")


def write_file(path: Path, data: bytes, *, secret: bool) -> None:
    """Atomically replace ``path`` with ``data``, secret files created as 0600."""
    mode = SECRET_MODE if secret else PUBLIC_MODE
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _sync_dir(path.parent)


def write_text(path: Path, text: str, *, secret: bool) -> None:
    write_file(path, text.encode(), secret=secret)


def _sync_dir(path: Path) -> None:
    """Flush the rename itself, so it survives the stick being pulled."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def locked(directory: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``directory`` so two commands cannot hand out one serial."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def read_bytes(path: Path, fix: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise KeyFileError(path, "missing", fix) from None
    except OSError as exc:
        raise KeyFileError(path, f"cannot be read ({exc.strerror})", fix) from None


def check_private(path: Path) -> None:
    """Refuse a secret file that other users could read or write."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return  # read_bytes reports it with the caller's fix
    if mode & 0o077:
        raise KeyFileError(
            path,
            f"permissions are {mode:04o} but a secret key file must be 0600",
            f"run 'chmod 600 {path}' (on a FAT/exFAT stick, where modes cannot be set, "
            "copy the bundle to the node's own disk first)",
        )


def parse_hex(path: Path, text: str, length: int, what: str, fix: str) -> bytes:
    """``text`` as ``length`` bytes of hex, or KeyFileError naming ``what`` in ``path``."""
    try:
        value = bytes.fromhex(text.strip())
    except ValueError:
        raise KeyFileError(path, f"{what} is not hex", fix) from None
    if len(value) != length:
        raise KeyFileError(path, f"{what} is {len(value)} bytes, not {length}", fix)
    return value


def read_secret_hex(
    path: Path, names: tuple[str, ...], fix: str, *, check_mode: bool = True
) -> tuple[bytes, ...]:
    """A 0600 file of one 32-byte hex value per line, in the order ``names`` gives."""
    if check_mode:
        check_private(path)
    data = read_bytes(path, fix)
    try:
        lines = [line for line in data.decode("ascii").splitlines() if line.strip()]
    except UnicodeDecodeError:
        raise KeyFileError(path, "is not a text file of hex lines", fix) from None
    if len(lines) != len(names):
        expected = " and ".join(names)
        raise KeyFileError(path, f"has {len(lines)} line(s), expected {expected}", fix)
    return tuple(
        parse_hex(path, line, SEED_LEN, name, fix) for line, name in zip(lines, names, strict=True)
    )


def seed_of(key: Ed25519PrivateKey | X25519PrivateKey) -> bytes:
    """The 32-byte private seed, as key files store it (RFC 8032 / RFC 7748 raw form)."""
    return key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def hex_lines(*values: bytes) -> str:
    return "".join(value.hex() + "\n" for value in values)


def remove_matching(directory: Path, pattern: str) -> None:
    """Delete files left by an earlier bundle or mission before ``--force`` rewrites it."""
    for old in directory.glob(pattern):
        if old.is_file():
            old.unlink()


def refuse_overwrite(
    directory: Path, names: tuple[str, ...], *, what: str, fix: str, force: bool
) -> None:
    """Raise if ``directory`` is a file, or unless ``force``, if any of ``names`` exists
    in it (an empty stick, or one holding other files, is fine)."""
    if directory.exists() and not directory.is_dir():
        raise KeyFileError(directory, "is a file, not a directory", "give a directory")
    if force:
        return
    present = [name for name in names if (directory / name).exists()]
    if present:
        raise KeyFileError(directory, f"already holds {what} ({', '.join(present)})", fix)


def make_private_dir(directory: Path) -> None:
    """Create ``directory`` (0700: it holds secrets) unless it exists; parents as usual."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        directory.mkdir(mode=0o700)


def read_cert_files(directory: Path, fix: str) -> dict[str, bytes]:
    """``certs/*.cert`` by file name, sorted; a missing directory holds none."""
    if not directory.is_dir():
        return {}
    return {p.name: read_bytes(p, fix) for p in sorted(directory.glob("*.cert")) if p.is_file()}
