"""A problem found in an import batch: where (file, row, column) and what, in words a clerk understands."""

from __future__ import annotations

from dataclasses import dataclass, field

from i18n import t

ERROR, WARNING, UNREADABLE = "error", "warning", "unreadable"


@dataclass(frozen=True)
class Problem:
    """One finding. ``key`` names a message in ``i18n/messages/import.toml``; ``values`` fill its placeholders.

    ``level``: ``error`` (the batch is not loaded), ``unreadable`` (the file cannot be read: exit code 2) or
    ``warning`` (reported, the batch still loads). ``row`` is the row number a spreadsheet shows (the header is
    usually row 1), or the feature number of a GeoJSON file.
    """

    file: str
    row: int | None
    column: str | None
    key: str
    values: dict[str, object] = field(default_factory=dict, hash=False, compare=False)
    level: str = ERROR

    def message(self, lang: str = "zh") -> str:
        return t(self.key, lang, **self.values)

    def where(self, lang: str = "zh") -> str:
        """``file, row 12, column 区划代码`` (or the Chinese equivalent)."""
        parts = [self.file]
        if self.row is not None:
            parts.append(t("import_at_row", lang, row=self.row))
        if self.column:
            parts.append(t("import_at_column", lang, column=self.column))
        return t("import_list_sep", lang).join(parts)

    def as_dict(self, lang: str = "zh") -> dict[str, object]:
        return {
            "file": self.file,
            "row": self.row,
            "column": self.column,
            "level": self.level,
            "message": self.message(lang),
        }


class ReadError(Exception):
    """A file cannot be read at all (encoding, damaged or cut-off file, unknown format)."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.key)
        self.problem = problem
