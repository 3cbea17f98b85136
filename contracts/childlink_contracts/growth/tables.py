"""WHO's published LMS tables, read once from the files shipped beside this module (see data/SOURCES.md)."""

import functools
import importlib.resources

SEX_CODES = {"male": 1, "female": 2}
BY_TENTH_CM = ("wflanthro", "wfhanthro")  # keyed by length/height, in 0.1 cm steps


@functools.cache
def table(reference, name):
    """{(sex code, key): (l, m, s)}; key is the age (days for who2006, months for who2007) or, for
    weight-for-length/height, the length/height in tenths of a cm (an int: rows are found without
    comparing floats)."""
    text = (importlib.resources.files(__package__) / "data" / reference / f"{name}.txt").read_text()
    rows = {}
    for line in text.splitlines()[1:]:
        sex, key, l_, m, s = line.split("\t")[:5]
        key = round(float(key) * 10) if name in BY_TENTH_CM else int(key)
        rows[(int(sex), key)] = (float(l_), float(m), float(s))
    return rows
