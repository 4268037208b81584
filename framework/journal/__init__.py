"""The journal: a directory of Parquet parts, one table per event kind.

``seq`` orders, timestamps explain.  :class:`JournalWriter` appends crash-safely,
:class:`JournalReader` reads tables or all of them merged by seq, and
:func:`framework.journal.duck.connect` opens DuckDB with one view per table.
"""

from framework.journal.completeness import Completeness, check_completeness
from framework.journal.errors import (
    CorruptPartError,
    JournalError,
    ManifestError,
    SchemaDriftError,
    SeqOrderError,
)
from framework.journal.manifest import Manifest, read_manifest, scrub_secrets, write_manifest
from framework.journal.parts import Part, PartMeta, list_parts, parse_part, part_name
from framework.journal.reader import JournalReader, MergedChunk
from framework.journal.writer import JournalWriter, compact_journal, rows_to_table

__all__ = [
    "Completeness",
    "CorruptPartError",
    "JournalError",
    "JournalReader",
    "JournalWriter",
    "Manifest",
    "ManifestError",
    "MergedChunk",
    "Part",
    "PartMeta",
    "SchemaDriftError",
    "SeqOrderError",
    "check_completeness",
    "compact_journal",
    "list_parts",
    "parse_part",
    "part_name",
    "read_manifest",
    "rows_to_table",
    "scrub_secrets",
    "write_manifest",
]
