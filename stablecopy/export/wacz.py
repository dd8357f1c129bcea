"""WACZ 1.1.1 packages of selected captures, written to disk as a stream.

A WARC file whose catalogued records are all selected goes into `archive/` as it is, so its bytes
still match the SHA-256 recorded when it was closed; otherwise its selected gzip members are copied
byte for byte into an excerpt that keeps the file's warcinfo record. The originals of selected
revisits always go in. cdxj-indexer indexes what was packed (responses and revisits, as replay tools
expect; 304 revisits pointed at their originals, see export.cdxj); `pages/pages.jsonl` lists every
extracted page, a revisit with its original's clean text, so replay tools can search it.

Nothing damaged is packed: a whole file must have the SHA-256 recorded when it was closed (checked
as it streams into the package), an excerpt's records must each read whole and match the catalogue
as `verify` checks them. Either failure refuses the export, and the package under construction,
beside the target under a temporary name, is removed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any

from cdxj_indexer.main import CDXJIndexer
from sqlalchemy.orm import Session

from stablecopy import __version__
from stablecopy.archive import fixity
from stablecopy.archive.excerpt import write_excerpt
from stablecopy.archive.fixity import READ_CHUNK
from stablecopy.archive.writer import WARC_SUFFIX
from stablecopy.catalog import files, queries
from stablecopy.catalog.models import Capture
from stablecopy.catalog.queries import CaptureFilter, ExpectedRecord
from stablecopy.export.cdxj import resolve_not_modified
from stablecopy.export.jsonl import iso
from stablecopy.export.output import ExportError, check_folder
from stablecopy.labels import sha256_label
from stablecopy.layout import DataLayout, UnsafePathError
from stablecopy.provenance.texts import TextUnavailable, archived_text
from stablecopy.provenance.verifier import compare

WACZ_VERSION = "1.1.1"
PAGES_HEADER = {"format": "json-pages-1.0", "id": "pages", "title": "Pages", "hasText": True}


@dataclass
class WaczSummary:
    path: Path
    captures: int = 0
    pages: int = 0
    archive_files: list[str] = field(default_factory=list)
    excerpts: int = 0
    size: int = 0


@dataclass(frozen=True)
class Packed:
    """A WARC file (or excerpt) going into `archive/`, and the SHA-256 its bytes must have."""

    name: str
    path: Path
    source: str  # the catalogued path it comes from
    sha256: str | None = None  # the whole file's, recorded when it was closed


def _refused(relative: str, detail: str) -> ExportError:
    return ExportError(
        f"{relative}: {detail}; nothing was exported (`stablecopy verify` lists every finding, "
        "and an export that leaves these captures out, by --url-prefix, --since or --crawl, works)"
    )


def _check_records(path: Path, expected: list[ExpectedRecord], relative: str) -> None:
    """Every expected record is in `path`, whole and as catalogued; ExportError if not."""
    found = {f.record_id: f for f in fixity.scan(path) if isinstance(f, fixity.RecordFacts)}
    for record in expected:
        facts = found.get(record.record_id)
        if facts is None:
            raise _refused(relative, f"{record.kind} record {record.record_id} does not read whole")
        problems = compare(replace(record, offset=facts.offset), facts)
        if problems:
            kind, detail = problems[0]
            raise _refused(relative, f"{record.kind} record {record.record_id}: {kind}: {detail}")


def _copy(source: IO[bytes], target: IO[bytes]) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    while chunk := source.read(READ_CHUNK):
        target.write(chunk)
        digest.update(chunk)
        size += len(chunk)
    return sha256_label(digest.hexdigest()), size


# Signs a datapackage: given its `sha256:` hash and its `created` time, returns the `signedData`.
Signer = Callable[[str, str], dict[str, Any]]


class WaczWriter:
    """Builds one WACZ from the catalogue and the data directory."""

    def __init__(self, session: Session, layout: DataLayout) -> None:
        self.session = session
        self.layout = layout

    def write(
        self,
        selection: CaptureFilter,
        output: Path,
        title: str | None = None,
        description: str | None = None,
        sign: Signer | None = None,
    ) -> WaczSummary:
        """Write the package; with `sign`, datapackage-digest.json carries its `signedData`."""
        summary = WaczSummary(path=output)
        # Revisits replay from their originals, and pages with their requisites.
        selection = replace(selection, with_originals=True, with_requisites=True)
        paths = files.files_of(self.session, selection)
        if not paths:
            raise ExportError("no capture matches: nothing to export")
        check_folder(output)
        with tempfile.TemporaryDirectory(dir=output.parent, prefix=".wacz-") as scratch:
            work = Path(scratch)
            archive = [self._archive_file(relative, selection, work, summary) for relative in paths]
            raw_index, index = work / "indexed.cdxj", work / "index.cdxj"
            CDXJIndexer(
                output=str(raw_index), inputs=[str(p.path) for p in archive], sort=True
            ).process_all()
            with (
                raw_index.open(encoding="utf-8") as lines,
                index.open("w", encoding="utf-8") as out,
            ):
                for line in resolve_not_modified(lines):
                    out.write(line + "\n")
            pages = work / "pages.jsonl"
            self._pages(selection, pages, summary)
            partial = work / "package.wacz"
            with zipfile.ZipFile(partial, "w", allowZip64=True) as package:
                resources = [self._packed(package, packed) for packed in archive]
                resources.append(
                    self._add(package, "indexes/index.cdxj", index, zipfile.ZIP_DEFLATED)
                )
                resources.append(
                    self._add(package, "pages/pages.jsonl", pages, zipfile.ZIP_DEFLATED)
                )
                created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                described = self._datapackage(
                    resources, selection, title, description, summary, created
                )
                package.writestr(self._info("datapackage.json"), described)
                digest: dict[str, Any] = {
                    "path": "datapackage.json",
                    "hash": sha256_label(hashlib.sha256(described).hexdigest()),
                }
                if sign is not None:
                    digest["signedData"] = sign(digest["hash"], created)
                package.writestr(
                    self._info("datapackage-digest.json"), json.dumps(digest, indent=2)
                )
            shutil.move(partial, output)
        summary.archive_files = [packed.name for packed in archive]
        summary.size = output.stat().st_size
        return summary

    # --- archive/ ---------------------------------------------------------------------------------

    def _archive_file(
        self, relative: str, selection: CaptureFilter, work: Path, summary: WaczSummary
    ) -> Packed:
        try:
            source = self.layout.resolve(relative)
        except UnsafePathError as exc:
            raise ExportError(
                f"{exc}: the catalogue names a file outside the data directory"
            ) from exc
        if not source.exists():
            raise ExportError(f"the WARC file {relative} is missing (run `stablecopy verify`)")
        chosen = list(queries.expected_records(self.session, selection, warc_file=relative))
        every = files.records_catalogued_in(self.session, relative, at_most=len(chosen))
        closed = files.closed_file(self.session, relative)
        if len(chosen) == every and all(r.length for r in chosen):
            if closed is not None:  # checked against its SHA-256 as it is packed (_add)
                return Packed(source.name, source, relative, sha256_label(closed.sha256))
            _check_records(source, chosen, relative)
            return Packed(source.name, source, relative)
        name = source.name.removesuffix(WARC_SUFFIX) + "-excerpt" + WARC_SUFFIX
        spans = [(r.offset, r.length) for r in chosen if r.length]
        write_excerpt(source, spans, work / name)
        _check_records(work / name, [r for r in chosen if r.length], relative)
        summary.excerpts += 1
        return Packed(name, work / name, relative)

    # --- pages/ -----------------------------------------------------------------------------------

    def _page_lines(self, selection: CaptureFilter, summary: WaczSummary) -> Iterator[str]:
        yield json.dumps(PAGES_HEADER)
        for capture in queries.selected_captures(self.session, selection):
            summary.captures += 1
            # A revisit is a page at its own time, with the text of the original it repeats.
            extraction = capture.payload_capture.extraction
            if extraction is None:
                continue
            page: dict[str, Any] = {"id": capture.short_id, "url": capture.url}
            page["ts"] = iso(capture.fetched_at)
            if extraction.title:
                page["title"] = extraction.title
            text = self._text(capture)
            if text is not None:
                page["text"] = text
            page["size"] = capture.payload_capture.payload_length
            summary.pages += 1
            yield json.dumps(page, ensure_ascii=False)

    def _pages(self, selection: CaptureFilter, target: Path, summary: WaczSummary) -> None:
        with target.open("w", encoding="utf-8") as out:
            for line in self._page_lines(selection, summary):
                out.write(line + "\n")

    def _text(self, capture: Capture) -> str | None:
        extraction = capture.payload_capture.extraction
        if extraction is None or extraction.conversion_file is None:
            return None
        try:
            return archived_text(self.layout, capture)
        except TextUnavailable as exc:
            raise ExportError(
                f"cannot export the clean text of capture {capture.id}: {exc}"
            ) from exc

    # --- the package ------------------------------------------------------------------------------

    @staticmethod
    def _info(name: str, compress: int = zipfile.ZIP_DEFLATED) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=datetime.now(UTC).timetuple()[:6])
        info.compress_type = compress
        return info

    def _packed(self, package: zipfile.ZipFile, packed: Packed) -> dict[str, Any]:
        resource = self._add(package, f"archive/{packed.name}", packed.path, zipfile.ZIP_STORED)
        if packed.sha256 is not None and resource["hash"] != packed.sha256:
            raise _refused(
                packed.source, "its bytes differ from the SHA-256 recorded when it was closed"
            )
        return resource

    def _add(
        self, package: zipfile.ZipFile, name: str, path: Path, compress: int
    ) -> dict[str, Any]:
        # The member's size is given up front, so zipfile writes ZIP64 fields only for a member of
        # 4 GiB or more: ReplayWeb.page's ZIP reader takes a ZIP64 extra field in a small member's
        # local header for its data (pages.jsonl "is not valid JSON").
        info = self._info(name, compress)
        info.file_size = path.stat().st_size
        with path.open("rb") as source, package.open(info, "w") as target:
            digest, size = _copy(source, target)
        return {"name": PurePosixPath(name).name, "path": name, "hash": digest, "bytes": size}

    def _datapackage(
        self,
        resources: list[dict[str, Any]],
        selection: CaptureFilter,
        title: str | None,
        description: str | None,
        summary: WaczSummary,
        now: str,
    ) -> bytes:
        scope = selection.describe()
        package: dict[str, Any] = {
            "profile": "data-package",
            "wacz_version": WACZ_VERSION,
            "title": title or f"stablecopy export {now[:10]}",
            "description": description
            or f"{summary.captures} captures ({scope or 'all captures'}), exported by stablecopy.",
            "created": now,
            "modified": now,
            "software": f"stablecopy {__version__}",
            "resources": resources,
        }
        return json.dumps(package, indent=2, ensure_ascii=False).encode("utf-8")
