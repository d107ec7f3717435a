"""The only module that touches the output folder.

A compile builds the complete new tree beside the old one (unchanged files hard-linked, changed files written
fresh), then swaps the two folders in one atomic rename. A failed or killed compile therefore leaves the old
tree exactly as it was. The compiler owns only the files listed in `.platformc-owned`: anything else in the
folder (a bootstrapped `flux-system/`, a file a person put there) is carried over untouched.
"""
from __future__ import annotations

import contextlib
import difflib
import fcntl
import os
import posixpath
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from . import conventions as names
from .errors import OutputError
from .libc import libc

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


def _difference(out: Path, rel: str, content: bytes, existing: set[str]) -> str | None:
    """"added" or "changed" when writing `content` at `rel` changes the tree, None when the file is the same."""
    if rel not in existing:
        return "added"
    try:
        current = (out / rel).read_bytes()
    except FileNotFoundError:
        return "added"
    except (NotADirectoryError, IsADirectoryError):
        return "changed"
    return "changed" if current != content else None


def _removed(out: Path, wanted, unchanged: frozenset[str]) -> list[str]:
    return sorted(rel for rel in owned_files(out)
                  if rel not in wanted and rel not in unchanged and (out / rel).is_file())


def diff_tree(out: Path, files: dict[str, bytes], unchanged: frozenset[str] = frozenset()) -> Changes:
    """What writing `files` would change; paths in `unchanged` are known to be identical on disk already."""
    changes = Changes()
    existing = _existing_paths(out)
    for rel, content in files.items():
        kind = _difference(out, rel, content, existing)
        if kind:
            getattr(changes, kind).append(rel)
    changes.removed = _removed(out, files, unchanged)
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
    renameat2 = getattr(libc(), "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd = -100
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE)
    return result == 0


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
    with _disk_errors(out):
        fd = os.open(out.parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


class StagedTree:
    """The new tree, built in a staging folder beside the old one while files are still being rendered.

    `add` writes a file into the stage only when it differs from the old tree's; `finish` hard-links every
    other file of the old tree (unchanged, or not the compiler's) into the stage, drops what was removed and
    swaps the two folders. Files may be staged in any order, by forked workers too (`stage_file` in the
    worker, `record` in the parent): the changes are sorted at the end."""

    def __init__(self, out: Path):
        self.out = out
        self.stage = out.parent / f".{out.name}.tmp-{os.getpid()}"
        self.existing = _existing_paths(out)
        self.changes = Changes()
        self.seen: set[str] = set()
        self.made: set[str] = {""}
        shutil.rmtree(self.stage, ignore_errors=True)
        self.stage.mkdir()

    def add(self, rel: str, content: bytes) -> None:
        self.record(rel, self.stage_file(rel, content))

    def stage_file(self, rel: str, content: bytes) -> str | None:
        """Write `rel` into the stage when it differs from the old tree ("added" or "changed"; None when it
        is the same). Only touches the disk: forked workers call it, and the parent `record`s the answer."""
        with _disk_errors(self.out):
            kind = _difference(self.out, rel, content, self.existing)
            if kind is None:
                return None
            if kind == "changed" and os.path.isdir(os.path.join(self.out, rel)):
                raise OutputError(f"{self.out / rel} is a folder, but the compiler needs to write a file there")
            parent = posixpath.dirname(rel)
            if parent not in self.made:
                os.makedirs(os.path.join(self.stage, parent), exist_ok=True)
                self.made.add(parent)
            _write_new(os.path.join(self.stage, rel), content)
            return kind

    def record(self, rel: str, kind: str | None) -> None:
        self.seen.add(rel)
        if kind is not None:
            getattr(self.changes, kind).append(rel)

    def finish(self, files: dict[str, bytes], unchanged: frozenset[str]) -> Changes:
        """Add what was not added yet, then bring the old tree's other files over and swap (if anything changed)."""
        with _disk_errors(self.out):
            return self._finish(files, unchanged)

    def _finish(self, files: dict[str, bytes], unchanged: frozenset[str]) -> Changes:
        for rel, content in files.items():
            if rel not in self.seen:
                self.add(rel, content)
        self.changes.added.sort()
        self.changes.changed.sort()
        self.changes.removed = _removed(self.out, files, unchanged)
        if not self.changes:
            return self.changes
        rewritten = set(self.changes.added) | set(self.changes.changed)
        self._carry_over(rewritten | set(self.changes.removed))
        self._drop_emptied()
        _swap(self.out, self.stage)
        return self.changes

    def _carry_over(self, skip: set[str]) -> None:
        if not self.out.is_dir():
            return
        for dirpath, dirnames, filenames in os.walk(self.out):
            rel_dir = Path(dirpath).relative_to(self.out)
            (self.stage / rel_dir).mkdir(parents=True, exist_ok=True)
            for name in filenames:
                rel = (rel_dir / name).as_posix()
                if rel in skip:
                    continue
                src = Path(dirpath) / name
                try:
                    os.link(src, self.stage / rel, follow_symlinks=False)
                except OSError:
                    shutil.copy2(src, self.stage / rel, follow_symlinks=False)
            for name in dirnames:
                if (Path(dirpath) / name).is_symlink():
                    os.symlink(os.readlink(Path(dirpath) / name), self.stage / rel_dir / name)
            dirnames[:] = [d for d in dirnames if not (Path(dirpath) / d).is_symlink()]

    def _drop_emptied(self) -> None:
        for rel in sorted(self.changes.removed):
            parent = (self.stage / rel).parent
            while parent != self.stage and parent.is_dir() and not any(parent.iterdir()):
                parent.rmdir()
                parent = parent.parent


@contextlib.contextmanager
def _disk_errors(out: Path):
    try:
        yield
    except OSError as exc:
        raise OutputError(f"cannot write {out}: {exc.strerror or exc}") from None


@contextlib.contextmanager
def staged_tree(out: Path):
    """A StagedTree for `out`, one writer at a time; on any failure the stage goes and `out` stays as it was."""
    out = out.absolute()
    with _disk_errors(out):
        out.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive(out):
        with _disk_errors(out):
            clean_leftovers(out)
            staged = StagedTree(out)
        try:
            yield staged
        finally:
            shutil.rmtree(staged.stage, ignore_errors=True)


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
