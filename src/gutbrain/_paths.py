"""Output paths of the commands that write files: one check, made before any simulation or fit, that never deletes.

Every writing command (``run --out/--plot``, ``summarize --plot``, ``cohort --out``, ``twin fit --out``,
``sensitivity --out``, ``bistability --out``, ``export-sbml --out``, ``claims --plots``, ``calibrate --report``)
checks its paths here before it starts, with the same rules and the same messages:

* a new output (a file, or a Zarr store directory of a single run) must not exist yet: gutbrain never
  overwrites or deletes anything the user already has (a cohort store is the one exception: an existing
  store written by ``gutbrain cohort`` is resumed, see :func:`gutbrain.cohort.store.check_store_path`);
* an output *folder* (``claims --plots``, ``calibrate --report``) may exist, since the command writes files
  with fixed names into it, but it must be a directory;
* the parent directory must exist (it is never created silently; the fix names ``mkdir -p``), be a directory,
  and accept a new file: that is tested by creating and removing a probe file, because permission bits say
  nothing for root, read-only mounts or pseudo file systems such as ``/proc``.

Files are then written with :func:`write_new_file`, which builds the file under a hidden temporary name and
links it into place only if nothing has appeared at the path meanwhile.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path

from .errors import InputError

__all__ = ["check_new_output", "check_output_dir", "check_parent", "quiet_zarr", "write_new_file", "write_new_zarr"]


def _kind(p: Path) -> str:
    if p.is_symlink():
        return "an existing symbolic link"
    if p.is_dir():
        return "an existing directory"
    return "an existing file"


def check_parent(path: str | os.PathLike, option: str) -> Path:
    """Refuse ``path`` unless its parent is an existing directory in which a new file can be created."""
    p = Path(path)
    parent = p.parent
    if not parent.exists():
        raise InputError(option, str(p), f"a path in an existing directory ({parent} does not exist)",
                         f"create the directory first (mkdir -p {parent}) or choose a path in an existing one")
    if not parent.is_dir():
        raise InputError(option, str(p), f"a path in a directory ({parent} is a file, not a directory)",
                         "choose a path in a directory, e.g. next to the file")
    try:
        fd, probe = tempfile.mkstemp(prefix=".gutbrain-probe-", dir=parent)
    except OSError as exc:
        raise InputError(option, str(p), f"a path in a directory you can write to (cannot create a file in {parent}: "
                         f"{exc.strerror or exc})", "choose a writable directory, e.g. a path under your home "
                         "directory or the current one") from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)
    return p


def check_new_output(path: str | os.PathLike, option: str, *, suffixes: Iterable[str] | None = None,
                     example: str | None = None, also: str | None = None) -> Path:
    """Refuse an output path that exists (file, directory or link), has a wrong suffix or cannot be created.

    ``example`` is the fix shown for a wrong suffix; ``also`` is added to the fix for an existing path.
    Nothing is created or removed (except the probe file of :func:`check_parent`).
    """
    p = Path(path)
    example = example or f"{option} results{next(iter(suffixes or ()), '')}"
    if suffixes is not None:
        suffixes = tuple(suffixes)
        if p.suffix not in suffixes:
            raise InputError(option, str(p), "a path ending in " + " or ".join(suffixes), f"e.g. {example}")
    if os.path.lexists(p):
        raise InputError(option, str(p), f"a path that does not exist yet (this is {_kind(p)}; gutbrain never "
                         "overwrites or deletes what is there)", f"choose a new path, or move the old one away first; "
                         f"e.g. {option} {p.with_name(p.stem + '-2' + p.suffix)}" + (f"; {also}" if also else ""))
    return check_parent(p, option)


def check_output_dir(path: str | os.PathLike, option: str) -> Path:
    """An output folder: may exist (then it must be a writable directory); if not, its parent is checked."""
    p = Path(path)
    if os.path.lexists(p):
        if not p.is_dir():
            raise InputError(option, str(p), f"a directory for the output files (this is {_kind(p)})",
                             "choose a directory path, e.g. a new folder name")
        return check_parent(p / "x", option).parent
    return check_parent(p, option)


def write_new_file(path: str | os.PathLike, write: Callable[[Path], object], option: str) -> Path:
    """Write a new file at ``path`` with ``write(tmp)``, never replacing a file that appeared meanwhile.

    ``write`` receives a hidden temporary sibling with the same suffix (so writers that choose the format by
    the suffix work); the result is hard-linked to ``path`` (atomic, and it fails if ``path`` exists).
    """
    p = Path(path)
    tmp = p.with_name(f".{p.name}.tmp-{uuid.uuid4().hex[:8]}{p.suffix}")
    try:
        write(tmp)
        try:
            os.link(tmp, p)
        except FileExistsError:
            raise InputError(option, str(p), "a path that does not exist yet (a file appeared there while gutbrain "
                             "was working; it was left alone)", "run again with a new path") from None
        except OSError:  # a file system without hard links: rename, after a last look
            if os.path.lexists(p):
                raise InputError(option, str(p), "a path that does not exist yet (something appeared there while "
                                 "gutbrain was working; it was left alone)", "run again with a new path") from None
            os.rename(tmp, p)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    return p


@contextlib.contextmanager
def quiet_zarr():
    """Silence zarr's note that consolidated metadata is not part of the Zarr v3 specification.

    gutbrain writes consolidated metadata on purpose (one read opens a store); the note is about
    other zarr implementations and says nothing the user of a gutbrain command can act on.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*[Cc]onsolidated metadata.*")
        yield


def write_new_zarr(ds, path: str | os.PathLike, option: str) -> Path:
    """Write an :class:`xarray.Dataset` as a new Zarr store; refused by zarr (never cleared) if ``path`` holds data.

    Fixed-width text variables (such as ``status``) are stored as variable-length UTF-8 strings, the text type
    the Zarr v3 specification defines (fixed-width ones make zarr warn that they have no specification).
    """
    text = {k: v.astype(object) for k, v in ds.variables.items() if v.dtype.kind == "U"}
    if text:
        ds = ds.assign_coords({k: v for k, v in text.items() if k in ds.coords})
        ds = ds.assign({k: v for k, v in text.items() if k not in ds.coords})
    try:
        with quiet_zarr():
            ds.to_zarr(str(path), mode="w-", consolidated=True)
    except FileExistsError:
        raise InputError(option, str(path), "a path that does not exist yet (something appeared there while gutbrain "
                         "was working; it was left alone)", "run again with a new path") from None
    return Path(path)
