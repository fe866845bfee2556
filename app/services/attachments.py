"""The embedded attachment store: files by their SHA-256, under the municipality's folder."""

import hashlib
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

from app.domain.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from app.storage.uow import UnitOfWork


def _path(root: Path, municipality_code: str, sha256: str) -> Path:
    return root / municipality_code / sha256[:2] / sha256


def file_path(root: Path, municipality_code: str, sha256: str) -> Path:
    """Where the file of this hash is (or would be) stored."""
    return _path(root, municipality_code, sha256)


async def store(
    root: Path, municipality_code: str, chunks: AsyncIterator[bytes], max_bytes: int
) -> tuple[str, int]:
    """Write the upload to a temporary file while hashing it, then move it into place."""
    folder = root / municipality_code
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".upload-")
    try:
        with os.fdopen(handle, "wb") as out:
            async for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise InvalidInput.field(
                        "body", "too_large", "添付ファイルが大きすぎます (attachment too large)"
                    )
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise InvalidInput.field("body", "empty", "添付ファイルが空です (empty attachment)")
        sha = digest.hexdigest()
        final = _path(root, municipality_code, sha)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temporary, final)  # same content, same name: a second upload changes nothing
        return sha, size
    finally:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass


def locate(root: Path, municipality_code: str, sha256: str) -> Path:
    path = _path(root, municipality_code, sha256)
    if not path.is_file():
        raise NotFound("添付ファイルが見つかりません (no such attachment)", sha256=sha256)
    return path


def missing(root: Path, municipality_code: str, hashes: list[str]) -> list[int]:
    """Indexes of the referenced attachments that this store does not hold."""
    return [i for i, sha in enumerate(hashes) if not _path(root, municipality_code, sha).is_file()]


async def referring_applications(
    uow: "UnitOfWork", municipality_code: str, sha256: str
) -> list[str]:
    """Ids of the applications that list this attachment (for the download's access-log row)."""
    from app.storage.attachments import applications_listing

    return await applications_listing(uow.session, municipality_code, sha256, limit=100)
