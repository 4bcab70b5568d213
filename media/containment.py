"""The one rule for every file a dataset reader or a gallery opens: it stays inside its image folder.

A path is taken relative to the image folder: an absolute path or a `..` part is refused as written,
and the file it resolves to (every symlink on the way followed) must be inside the image folder,
resolved too. So a symlink is followed only when it ends inside; one pointing out, a broken one, or
a name that is not a regular file is refused with its reason. Readers report the reason and skip the
file; nothing outside is ever opened.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath


def leaves_folder(relative: str) -> bool:
    """Whether `relative`, as written, is absolute or climbs out with '..' (either slash)."""
    pure = PurePosixPath(relative.replace("\\", "/"))
    return pure.is_absolute() or ".." in pure.parts or Path(relative).is_absolute()


def containment_problem(root: Path, relative: str) -> str | None:
    """Why `root`/`relative` may not be opened, or None when it is a file inside `root` (see the module)."""
    if not relative or leaves_folder(relative):
        return f"path '{relative}' leaves the image folder"
    path = root / relative
    problem = resolved_problem(path, root.resolve())
    if problem is None and not path.is_file():
        return f"'{relative}' is not a file"
    return problem


def resolved_problem(path: Path, real_root: Path) -> str | None:
    """Why `path` (a file or folder, a symlink, or under one) may not be opened, or None when it resolves
    to something inside `real_root` (already resolved)."""
    try:
        target = path.resolve()
    except (OSError, RuntimeError):  # a symlink loop
        return "symlink loop; not followed"
    if not target.exists():
        return "broken symlink" if path.is_symlink() else f"'{path.name}' does not exist"
    if not target.is_relative_to(real_root):
        return f"symlink to '{target}', outside the image folder; not followed"
    return None
