"""Fetch one file from a list of mirrors, checked by SHA-256, so that a file either arrives whole or not at all.

The bytes go to a hidden temporary file in the target folder while being hashed; only when the length
and the hash are right is it renamed to its final name (an atomic step on one file system). Any failure
removes the temporary file and moves on to the next mirror. The environment variable `NNCTL_MIRRORS`
(comma-separated base URLs) replaces the built-in mirror list, for offline copies and tests.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Collection, Sequence
from pathlib import Path

from tqdm import tqdm

from nnctl.errors import WorkError

TIMEOUT_SECONDS = 30
CHUNK_BYTES = 1 << 16


class FetchFailed(Exception):
    """One mirror did not deliver the right bytes; the message says why in a few words."""


def mirror_list(default: Sequence[str]) -> list[str]:
    """Base URLs to try in turn: `$NNCTL_MIRRORS` when set (comma-separated), else `default`."""
    override = os.environ.get("NNCTL_MIRRORS", "")
    chosen = [url.strip() for url in override.split(",") if url.strip()] if override.strip() else list(default)
    return [url.rstrip("/") + "/" for url in chosen]


def download(filename: str, mirrors: Sequence[str], target_dir: Path, sha256: Collection[str],
             progress: bool = True, advice: str | None = None) -> Path:
    """Fetch `filename` from the first mirror that delivers it with one of the accepted SHA-256 digests.

    Returns the final path `target_dir / filename`. When every mirror fails, raises WorkError listing
    each failure and ending with `advice` (what the person can do instead); no file, not even a partial
    one, is left behind, nor a folder that this call created.
    """
    target = Path(target_dir) / filename
    created = [folder for folder in (target.parent, *target.parent.parents) if not folder.exists()]
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WorkError(f"{target.parent}: cannot create the download folder ({exc.strerror or exc})") from None
    failures = []
    for base in mirrors:
        url = base + filename
        try:
            fetch_checked(url, target, sha256, progress)
            return target
        except FetchFailed as exc:
            failures.append(f"{url}: {exc}")
    advice = advice or f"place the file in {target.parent} yourself or set NNCTL_MIRRORS to a working mirror"
    remove_empty(created)
    raise WorkError(f"could not download {filename} ({'; '.join(failures) or 'no mirrors given'}); {advice}")


def remove_empty(folders: Sequence[Path]) -> None:
    """Remove these folders (innermost first) while they are empty: the ones a failed download created."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


def fetch_checked(url: str, target: Path, sha256: Collection[str], progress: bool) -> None:
    """Stream `url` into a temporary file beside `target`, check length and hash, then rename.

    Raises FetchFailed (and leaves nothing behind) on any network error, short transfer or wrong hash.
    """
    handle, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    temp = Path(temp_name)
    try:
        with os.fdopen(handle, "wb") as out:
            digest, received, announced = stream(url, out, target.name, progress)
        if announced is not None and received != announced:
            raise FetchFailed(f"transfer cut short after {received} of {announced} bytes")
        if digest not in sha256:
            raise FetchFailed(f"checksum mismatch (SHA-256 {digest})")
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)


def stream(url: str, out, label: str, progress: bool) -> tuple[str, int, int | None]:
    """Copy the body of `url` into the open file `out`; return (sha256 hex, bytes received, Content-Length)."""
    hasher = hashlib.sha256()
    received = 0
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
            length = response.headers.get("Content-Length")
            announced = int(length) if length and length.isdigit() else None
            with tqdm(total=announced, unit="B", unit_scale=True, unit_divisor=1024, desc=label,
                      disable=not progress, leave=False) as bar:
                while chunk := response.read(CHUNK_BYTES):
                    hasher.update(chunk)
                    out.write(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
    except urllib.error.HTTPError as exc:
        raise FetchFailed(f"HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise FetchFailed(str(exc.reason)) from None
    except (OSError, ValueError, http.client.HTTPException) as exc:  # timeouts, resets, bad URLs, cut bodies
        raise FetchFailed(str(exc) or type(exc).__name__) from None
    return hasher.hexdigest(), received, announced
