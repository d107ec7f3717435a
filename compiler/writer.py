"""The only module that touches the output folder.

A compile builds the complete new tree beside the old one (unchanged files hard-linked, changed files written
fresh), then swaps the two folders in one atomic rename. A failed or killed compile therefore leaves the old
tree exactly as it was. The compiler owns only the files listed in `.platformc-owned`: anything else in the
folder (a bootstrapped `flux-system/`, a file a person put there) is carried over untouched.
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import ctypes
import ctypes.util
import difflib
import fcntl
import os
import posixpath
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from . import conventions as names
from .errors import OutputError

_RENAME_EXCHANGE = 2


@dataclass
class Changes:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)


def owned_files(out: Path) -> list[str]:
    listing = out / names.OWNED_FILES_LIST
    if not listing.is_file():
        return []
    lines = listing.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line and not line.startswith("#") and _is_safe(line)]


def _is_safe(rel: str) -> bool:
    parts = Path(rel).parts
    return bool(parts) and not Path(rel).is_absolute() and ".." not in parts


def _existing_paths(out: Path) -> set[str]:
    """Every file and folder path under `out`, listed once (cheaper than a stat or open per wanted path)."""
    found: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(out):
        rel_dir = os.path.relpath(dirpath, out)
        prefix = "" if rel_dir == "." else rel_dir.replace(os.sep, "/") + "/"
        found.update(prefix + name for name in filenames)
        found.update(prefix + name for name in dirnames)
    return found


def diff_tree(out: Path, files: dict[str, bytes], unchanged: frozenset[str] = frozenset()) -> Changes:
    """What writing `files` would change; paths in `unchanged` are known to be identical on disk already."""
    changes = Changes()
    existing = _existing_paths(out)
    for rel, content in files.items():
        if rel not in existing:
            changes.added.append(rel)
            continue
        path = out / rel
        try:
            current = path.read_bytes()
        except FileNotFoundError:
            changes.added.append(rel)
            continue
        except (NotADirectoryError, IsADirectoryError):
            changes.changed.append(rel)
            continue
        if current != content:
            changes.changed.append(rel)
    changes.removed = sorted(rel for rel in owned_files(out)
                             if rel not in files and rel not in unchanged and (out / rel).is_file())
    return changes


def describe(out: Path, files: dict[str, bytes], changes: Changes, *, diff_lines: int = 12) -> list[str]:
    """A list of what would change, with a short unified diff of each changed file."""
    report = [f"would add {out / rel}" for rel in changes.added]
    report += [f"would remove {out / rel}" for rel in changes.removed]
    for rel in changes.changed:
        report.append(f"would change {out / rel}")
        try:
            old = (out / rel).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            old = []
        new = files[rel].decode("utf-8").splitlines()
        diff = list(difflib.unified_diff(old, new, f"a/{rel}", f"b/{rel}", lineterm="", n=1))
        report += ["    " + line for line in diff[:diff_lines]]
        if len(diff) > diff_lines:
            report.append(f"    ... {len(diff) - diff_lines} more diff lines")
    return report


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE); False where the system cannot."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd = -100
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE)
    return result == 0


def _stage(out: Path, stage: Path, files: dict[str, bytes], changes: Changes) -> None:
    rewrite = set(changes.added) | set(changes.changed)
    dropped = set(changes.removed)
    if out.is_dir():
        for dirpath, dirnames, filenames in os.walk(out):
            rel_dir = Path(dirpath).relative_to(out)
            (stage / rel_dir).mkdir(parents=True, exist_ok=True)
            for name in filenames:
                rel = (rel_dir / name).as_posix()
                if rel in rewrite or rel in dropped:
                    continue
                src = Path(dirpath) / name
                try:
                    os.link(src, stage / rel, follow_symlinks=False)
                except OSError:
                    shutil.copy2(src, stage / rel, follow_symlinks=False)
            for name in dirnames:
                if (Path(dirpath) / name).is_symlink():
                    os.symlink(os.readlink(Path(dirpath) / name), stage / rel_dir / name)
            dirnames[:] = [d for d in dirnames if not (Path(dirpath) / d).is_symlink()]
    for parent in sorted({posixpath.dirname(rel) for rel in rewrite}):
        (stage / parent).mkdir(parents=True, exist_ok=True)
    _write_all(out, stage, [(rel, files[rel]) for rel in sorted(rewrite)])
    for rel in sorted(dropped):
        parent = (stage / rel).parent
        while parent != stage and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent


WRITE_THREADS = 4


def _write_all(out: Path, stage: Path, items: list[tuple[str, bytes]]) -> None:
    """Write the staged files; a few threads overlap the file system's latency (writes release the GIL)."""
    def write(item: tuple[str, bytes]) -> None:
        rel, content = item
        try:
            _write_new(os.path.join(stage, rel), content)
        except (IsADirectoryError, FileExistsError):
            raise OutputError(f"{out / rel} is a folder, but the compiler needs to write a file there") from None

    if len(items) < 64:
        for item in items:
            write(item)
        return
    with concurrent.futures.ThreadPoolExecutor(max_workers=WRITE_THREADS) as pool:
        for _ in pool.map(write, items):
            pass


def _write_new(path: str | Path, content: bytes) -> None:
    """Write a file that does not exist yet (a fresh inode: hard links to the old tree stay untouched)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        view = memoryview(content)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def clean_leftovers(out: Path) -> None:
    """Remove staging folders of compiles that were killed before they could clean up."""
    for leftover in out.parent.glob(f".{out.name}.tmp-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    old = out.parent / f".{out.name}.old"
    if old.is_dir():
        if not out.exists():
            old.rename(out)
        else:
            shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def _exclusive(out: Path):
    """One writer at a time per output folder: a second compile waits instead of removing the first's stage.
    The lock is held on the parent folder itself, so no lock file is left behind."""
    fd = os.open(out.parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def write_tree(out: Path, files: dict[str, bytes], unchanged: frozenset[str] = frozenset()) -> Changes:
    """Bring `out` to exactly `files` and `unchanged` (plus any file it does not own) in one atomic swap."""
    out = out.absolute()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with _exclusive(out):
            return _write_locked(out, files, unchanged)
    except OSError as exc:
        raise OutputError(f"cannot write {out}: {exc.strerror or exc}") from None


def _write_locked(out: Path, files: dict[str, bytes], unchanged: frozenset[str]) -> Changes:
    clean_leftovers(out)
    changes = diff_tree(out, files, unchanged)
    if not changes:
        return changes
    stage = out.parent / f".{out.name}.tmp-{os.getpid()}"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir()
    try:
        _stage(out, stage, files, changes)
        _swap(out, stage)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return changes


def _swap(out: Path, stage: Path) -> None:
    if not out.exists():
        stage.rename(out)
        return
    if _exchange(stage, out):
        return
    old = out.parent / f".{out.name}.old"
    out.rename(old)
    stage.rename(out)
    shutil.rmtree(old, ignore_errors=True)
