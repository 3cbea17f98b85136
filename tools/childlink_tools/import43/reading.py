"""Reading 43-file text files: the encoding (UTF-8, or TIS-620 that older systems still write), the
header line, and one Row per data line with its line number, so every refusal can point at it."""

from dataclasses import dataclass
from pathlib import Path

from .layout import COUNTED_ONLY, LAYOUTS, REQUIRED

ENCODINGS = ("utf-8", "tis-620", "cp874")
# cp874 is TIS-620 plus a few punctuation marks (Windows' Thai code page): reading as cp874 reads both
DETECTED_THAI = "cp874"


@dataclass(frozen=True)
class Row:
    file: str  # the file's name as found: "EPI.txt"
    line: int  # 1-based, counting the header line
    values: dict  # column -> stripped text ("" when empty)


@dataclass
class RowProblem:
    file: str
    line: int
    column: str | None
    why: str


@dataclass
class TableFile:
    name: str  # PERSON, EPI, ...
    path: Path
    encoding: str
    rows: list
    problems: list  # RowProblem for lines that could not be read as rows at all


def find_files(directory):
    """{table name: Path} for the tables childlink reads, matched by file name, any case, .txt or none."""
    wanted = {*LAYOUTS, *COUNTED_ONLY}
    found = {}
    for path in sorted(Path(directory).iterdir()):
        if not path.is_file():
            continue
        stem = path.name.upper().removesuffix(".TXT")
        if stem in wanted:
            found[stem] = path
    return found


def decode(raw, encoding=None):
    """(text, encoding used). Given none, UTF-8 if the bytes are valid UTF-8, else Thai (cp874)."""
    if encoding:
        return raw.decode(encoding), encoding
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8"), "utf-8"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return raw.decode(DETECTED_THAI), DETECTED_THAI


def read_table(name, path, encoding=None):
    """Every data line of one file as a Row keyed by the columns of its header (or of the standard)."""
    text, used = decode(path.read_bytes(), encoding)
    standard = LAYOUTS.get(name)
    rows, problems = [], []
    lines = text.splitlines()
    columns, first = standard, 0
    if lines and lines[0].split("|")[0].strip().upper() == "HOSPCODE":
        columns = tuple(c.strip().upper() for c in lines[0].split("|"))
        first = 1
        missing = [c for c in REQUIRED.get(name, ()) if c not in columns]
        if missing:
            problems.append(RowProblem(path.name, 1, missing[0],
                                       f"the header line lacks column {missing[0]}, which childlink needs"))
            return TableFile(name, path, used, [], problems)
    if columns is None:  # a counted-only table without a header: its rows are counted, not read
        return TableFile(name, path, used, [Row(path.name, n + 1, {}) for n, line in enumerate(lines)
                                            if line.strip()], problems)
    needed = REQUIRED.get(name, ())
    shortest = max((columns.index(c) for c in needed if c in columns), default=0) + 1
    for index in range(first, len(lines)):
        line = lines[index]
        if not line.strip():
            continue
        cells = line.split("|")
        if first and len(cells) != len(columns):
            problems.append(RowProblem(path.name, index + 1, None,
                                       f"{len(cells)} columns where the header has {len(columns)}"))
            continue
        if not first and not shortest <= len(cells) <= len(columns):
            problems.append(RowProblem(path.name, index + 1, None,
                                       f"{len(cells)} columns: the standard has {len(columns)} (at least "
                                       f"{shortest}, up to {columns[shortest - 1]}, without a header line)"))
            continue
        values = dict.fromkeys(standard or columns, "")  # a column an older export lacks reads as empty
        values.update({c: v.strip().strip('"') for c, v in zip(columns, cells)})
        rows.append(Row(path.name, index + 1, values))
    return TableFile(name, path, used, rows, problems)
