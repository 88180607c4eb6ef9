"""Text encodings of landing files: detect, and transcode to UTF-8 when needed.

The rule (DATA_FORMATS.md): a UTF-8 BOM means UTF-8; otherwise strict UTF-8;
otherwise GB18030. GBK is never tried first, because valid UTF-8 read as GBK
garbles silently. Everything streams in fixed-size chunks, so a multi-GB
file never sits in memory: one pass computes the SHA-256 and checks UTF-8,
and a GB18030 file is transcoded into a temporary UTF-8 file for the parser.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pipelines.errors import InputError
from pipelines.ingest.limits import LineWatch

CHUNK_BYTES = 4 << 20
UTF8 = "utf-8"
UTF8_BOM = "utf-8-bom"
GB18030 = "gb18030"
_BOM = codecs.BOM_UTF8


@dataclass(frozen=True)
class FileDigest:
    """A file's SHA-256 and, for text files, its encoding and whether a line may be
    too long to parse whole (``limits.LineWatch``)."""

    sha256: str
    encoding: str | None
    long_lines: bool = False


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            yield chunk


def digest(path: Path, *, text: bool) -> FileDigest:
    """Hash ``path`` and, if ``text``, detect its encoding, in one streamed pass."""
    sha = hashlib.sha256()
    decoder = codecs.getincrementaldecoder(UTF8)("strict")
    utf8_ok, first = True, True
    has_bom = False
    lines = LineWatch()
    for chunk in _chunks(path):
        sha.update(chunk)
        if text:
            lines.feed(chunk)
        if not text or not utf8_ok:
            continue
        if first:
            has_bom, first = chunk.startswith(_BOM), False
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError:
            utf8_ok = False
    if text and utf8_ok:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8_ok = False
    if not text:
        return FileDigest(sha.hexdigest(), None)
    if has_bom and not utf8_ok:
        raise InputError(f"{path.name}: starts with a UTF-8 BOM but is not valid UTF-8")
    if utf8_ok:
        return FileDigest(sha.hexdigest(), UTF8_BOM if has_bom else UTF8, lines.long)
    return FileDigest(sha.hexdigest(), GB18030, lines.long)


def transcode_to_utf8(source: Path, target: Path, encoding: str = GB18030) -> None:
    """Stream ``source`` (in ``encoding``) into ``target`` as UTF-8, chunk by chunk."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    offset = 0
    try:
        with target.open("wb") as out:
            for chunk in _chunks(source):
                out.write(decoder.decode(chunk).encode(UTF8))
                offset += len(chunk)
            out.write(decoder.decode(b"", final=True).encode(UTF8))
    except UnicodeDecodeError as error:
        raise InputError(
            f"{source.name}: neither UTF-8 nor GB18030 text "
            f"(undecodable bytes near byte {offset + error.start})"
        ) from None


@contextmanager
def utf8_path(path: Path, encoding: str | None) -> Iterator[Path]:
    """A UTF-8 view of ``path``: itself, or a temporary transcoded copy.

    The temporary file lives beside nothing the user owns (the system temp
    directory) and is removed on exit.
    """
    if encoding in (None, UTF8, UTF8_BOM):
        yield path
        return
    handle, name = tempfile.mkstemp(prefix="partsflow-", suffix=path.suffix)
    os.close(handle)
    target = Path(name)
    try:
        transcode_to_utf8(path, target, encoding)
        yield target
    finally:
        target.unlink(missing_ok=True)
