"""Clean text into the archive: a conversion record holding the text and a metadata record saying
how it was made, both pointing at the page's response record (WARC-Refers-To)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from stablecopy.archive import records
from stablecopy.archive.warcinfo import extraction_fields
from stablecopy.archive.writer import WarcWriter, Written
from stablecopy.events import ArchivedText, ExtractedText, RecordLocation
from stablecopy.extract.result import ExtractStatus
from stablecopy.labels import label_hex


def write_text_records(
    writer: WarcWriter,
    text: ExtractedText,
    locate: Callable[[Written], RecordLocation],
) -> tuple[ArchivedText, list[Written]]:
    """Write the records of one extraction together (an extraction that found no text gets the
    metadata record alone); what was archived, and where. OSError when the file cannot be written."""
    result = text.result
    now = datetime.now(UTC)
    warcinfo_id = writer.reserve(len(result.text_bytes) + 4096)
    group = []
    conversion = None
    if result.status is ExtractStatus.OK:
        conversion = records.conversion_record(
            text.url, result.text, text.record_id, records.new_record_id(), now, warcinfo_id
        )
        group.append(conversion)
    fields = extraction_fields(
        result,
        conversion.payload_digest if conversion else None,
        conversion.record_id if conversion else None,
    )
    metadata = records.metadata_record(
        text.url, fields, text.record_id, records.new_record_id(), now, warcinfo_id
    )
    group.append(metadata)
    placed = writer.write(group)
    archived = ArchivedText(
        record_id=text.record_id,
        url=records.without_fragment(text.url),
        result=result,
        text_sha256=label_hex(conversion.payload_digest)
        if conversion and conversion.payload_digest
        else None,
        conversion_record_id=conversion.record_id if conversion else None,
        conversion=locate(placed[0]) if conversion else None,
        metadata_record_id=metadata.record_id,
        metadata=locate(placed[-1]),
    )
    return archived, placed
