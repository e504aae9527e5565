"""Fetch one file from a list of mirrors, checked by SHA-256, so that a file either arrives whole or not at all.

The bytes go to a hidden temporary file in the target folder while being hashed; only when the length
and the hash are right is it renamed to its final name (an atomic step on one file system). Any failure
removes the temporary file and moves on to the next mirror. Bounded: a size cap (from the file's
expected size) stops an oversized body as soon as it is announced or exceeded, and one overall deadline
covers all mirrors. The environment variable `NNCTL_MIRRORS` (comma-separated base URLs) replaces the
built-in mirror list, for offline copies and tests.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Collection, Sequence
from pathlib import Path

from tqdm import tqdm

from nnctl.atomic import WriteFailed, describe_os_error
from nnctl.errors import WorkError

TIMEOUT_SECONDS = 30                 # the longest a connection may stay silent
DEFAULT_DEADLINE_SECONDS = 600.0     # all mirrors together, for one file
CHUNK_BYTES = 1 << 16


class FetchFailed(Exception):
    """One mirror did not deliver the right bytes; the message says why in a few words."""


def mirror_list(default: Sequence[str]) -> list[str]:
    """Base URLs to try in turn: `$NNCTL_MIRRORS` when set (comma-separated), else `default`."""
    override = os.environ.get("NNCTL_MIRRORS", "")
    chosen = [url.strip() for url in override.split(",") if url.strip()] if override.strip() else list(default)
    return [url.rstrip("/") + "/" for url in chosen]


def download(filename: str, mirrors: Sequence[str], target_dir: Path, sha256: Collection[str],
             progress: bool = True, advice: str | None = None, max_bytes: int | None = None,
             deadline: float = DEFAULT_DEADLINE_SECONDS) -> Path:
    """Fetch `filename` from the first mirror that delivers it with one of the accepted SHA-256 digests.

    Returns the final path `target_dir / filename`. At most `max_bytes` are read from any mirror (a larger
    announced or delivered body fails that mirror at once), and all mirrors together get `deadline`
    seconds. When every mirror fails, raises WorkError listing each failure and ending with `advice` (what
    the person can do instead). On any failure or interrupt (Ctrl-C, SIGTERM as nnctl's CLI raises it) no
    file is left behind, not even a partial one, nor a folder that this call created. A failure to write
    (disk full, read-only) is a WriteFailed naming the file, without trying the other mirrors.
    """
    target = Path(target_dir) / filename
    created = [folder for folder in (target.parent, *target.parent.parents) if not folder.exists()]
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        remove_empty(created)
        raise WorkError(f"{target.parent}: cannot create the download folder ({exc.strerror or exc})") from None
    ends_at = time.monotonic() + deadline
    failures = []
    try:
        for base in mirrors:
            url = base + filename
            try:
                fetch_checked(url, target, sha256, progress, max_bytes, ends_at)
                return target
            except FetchFailed as exc:
                failures.append(f"{url}: {exc}")
    except BaseException:
        remove_empty(created)
        raise
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


def fetch_checked(url: str, target: Path, sha256: Collection[str], progress: bool, max_bytes: int | None,
                  ends_at: float) -> None:
    """Stream `url` into a temporary file beside `target`, check length and hash, then rename.

    Raises FetchFailed (and leaves nothing behind) on any network error, short or oversized transfer,
    passed deadline or wrong hash; WriteFailed when the temporary file cannot be written.
    """
    if time.monotonic() >= ends_at:
        raise FetchFailed("not tried: the download's deadline had passed")
    try:
        handle, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    except OSError as exc:
        raise WriteFailed(f"{target}: cannot write the download ({describe_os_error(exc)})") from None
    temp = Path(temp_name)
    try:
        with os.fdopen(handle, "wb") as out:
            digest, received, announced = stream(url, Sink(out, target), target.name, progress, max_bytes, ends_at)
        if announced is not None and received != announced:
            raise FetchFailed(f"transfer cut short after {received} of {announced} bytes")
        if digest not in sha256:
            raise FetchFailed(f"checksum mismatch (SHA-256 {digest})")
        try:
            os.replace(temp, target)
        except OSError as exc:
            raise WriteFailed(f"{target}: cannot write the download ({describe_os_error(exc)})") from None
    except OSError as exc:                  # closing the temporary file flushes it: a full disk shows here
        raise WriteFailed(f"{target}: cannot write the download ({describe_os_error(exc)})") from None
    finally:
        temp.unlink(missing_ok=True)


class Sink:
    """The temporary file a download streams into; a failed write is a WriteFailed naming the target."""

    def __init__(self, out, target: Path):
        self.out, self.target = out, target

    def write(self, chunk: bytes) -> None:
        try:
            self.out.write(chunk)
        except OSError as exc:
            raise WriteFailed(f"{self.target}: cannot write the download ({describe_os_error(exc)})") from None


def stream(url: str, out: Sink, label: str, progress: bool, max_bytes: int | None,
           ends_at: float) -> tuple[str, int, int | None]:
    """Copy the body of `url` into `out`; return (sha256 hex, bytes received, Content-Length). Stops with
    FetchFailed once more than `max_bytes` are announced or received, or at the monotonic time `ends_at`
    (checked whenever bytes arrive; a silent server is cut off by the socket timeout)."""
    hasher = hashlib.sha256()
    received = 0
    try:
        timeout = max(0.1, min(TIMEOUT_SECONDS, ends_at - time.monotonic()))
        with urllib.request.urlopen(url, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            announced = int(length) if length and length.isdigit() else None
            if max_bytes is not None and announced is not None and announced > max_bytes:
                raise FetchFailed(f"the server announces {announced} bytes, more than the {max_bytes} expected")
            with tqdm(total=announced, unit="B", unit_scale=True, unit_divisor=1024, desc=label,
                      disable=not progress, leave=False) as bar:
                while chunk := response.read1(CHUNK_BYTES):
                    received += len(chunk)
                    if max_bytes is not None and received > max_bytes:
                        raise FetchFailed(f"more than the {max_bytes} bytes expected; stopped reading")
                    if time.monotonic() > ends_at:
                        raise FetchFailed("not complete within the download's deadline")
                    hasher.update(chunk)
                    out.write(chunk)
                    bar.update(len(chunk))
    except urllib.error.HTTPError as exc:
        raise FetchFailed(f"HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise FetchFailed(str(exc.reason)) from None
    except (OSError, ValueError, http.client.HTTPException) as exc:  # timeouts, resets, bad URLs, cut bodies
        raise FetchFailed(str(exc) or type(exc).__name__) from None
    return hasher.hexdigest(), received, announced
