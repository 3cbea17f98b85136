"""Which known records are worth scoring against an incoming one: a dict of blocks, a few keys a record.

Scoring every known child is out of the question at 300,000 children, so a record is stored under a
few block keys and an incoming record looks up the keys its true match would most likely be under
(multi-pass blocking, as Splink and OpenCR do it):

1. `d`  sex + birth date. Looked up with the date itself, one and two days either side, and day and
    month swapped: the birth-date slips registers make. About 60 children a key at Bangkok's
    300,000, so this pass yields some 300-400 candidates and is most of the work.
2. `m`  sex + birth year-month + the LK82 soundex of the given name, and again of the family name;
    looked up for the month before and after too: a birth date further off, found through a name.
3. `y`  sex + day and month of birth + soundex of the given name: the year keyed wrong.
4. `x`  birth date + spelling key of the given name, sex left out: the sex keyed wrong.
5. `g`, `p`, `n`  the guardian's national ID, the guardian's phone, the child's national ID (also a
    checksum-invalid one, so the same slip keyed twice still meets): a household or a number found
    whatever the dates say. Twins and siblings meet here and are told apart by scoring.

A record with no birth date or sex is found only through pass 5. The index is one dict from the hash
of a key (a 64-bit int: smaller than the tuple; a collision only adds a candidate, never loses one)
to a record position, or to a list of them once a second record shares the block.
"""

import datetime as dt

from .normalise import Prepared

DATE_SLACK_DAYS = (0, -1, 1, -2, 2)


def _swapped(birth: dt.date):
    if birth.day > 12 or birth.day == birth.month:
        return None
    try:
        return dt.date(birth.year, birth.day, birth.month)
    except ValueError:
        return None


def _month_index(birth: dt.date):
    return birth.year * 12 + birth.month - 1


def stored_keys(record: Prepared):
    """The block keys a known record is filed under."""
    keys = []
    sex, birth, given, family = record.sex, record.birth, record.given, record.family
    if birth is not None:
        ordinal = birth.toordinal()
        if sex:
            keys.append(("d", sex, ordinal))
            month = _month_index(birth)
            if given:
                keys.append(("m", sex, month, given.phonetic))
                keys.append(("y", sex, birth.month, birth.day, given.phonetic))
            if family:
                keys.append(("m", sex, month, family.phonetic))
        if given:
            keys.append(("x", ordinal, given.key))
    if record.guardian_national_id:
        keys.append(("g", record.guardian_national_id))
    if record.guardian_phone:
        keys.append(("p", record.guardian_phone))
    if record.national_id:
        keys.append(("n", record.national_id))
    return list(dict.fromkeys(keys))


def query_keys(record: Prepared):
    """The block keys an incoming record's true match is most likely filed under."""
    keys = []
    sex, birth, given, family = record.sex, record.birth, record.given, record.family
    if birth is not None:
        ordinal = birth.toordinal()
        if sex:
            keys.extend(("d", sex, ordinal + delta) for delta in DATE_SLACK_DAYS)
            swapped = _swapped(birth)
            if swapped:
                keys.append(("d", sex, swapped.toordinal()))
            month = _month_index(birth)
            for name in (given, family):
                if name:
                    keys.extend(("m", sex, month + delta, name.phonetic) for delta in (0, -1, 1))
            if given:
                keys.append(("y", sex, birth.month, birth.day, given.phonetic))
        if given:
            keys.append(("x", ordinal, given.key))
    if record.guardian_national_id:
        keys.append(("g", record.guardian_national_id))
    if record.guardian_phone:
        keys.append(("p", record.guardian_phone))
    if record.national_id:
        keys.append(("n", record.national_id))
    return list(dict.fromkeys(keys))


class BlockingIndex:
    """hash(block key) -> position of the one record filed under it, or a list of positions."""

    def __init__(self):
        self._blocks: dict[int, int | list[int]] = {}

    def add(self, position: int, record: Prepared):
        blocks = self._blocks
        for key in stored_keys(record):
            key = hash(key)
            block = blocks.get(key)
            if block is None:
                blocks[key] = position
            elif type(block) is int:
                if block != position:
                    blocks[key] = [block, position]
            elif position not in block:
                block.append(position)

    def remove(self, position: int, record: Prepared):
        blocks = self._blocks
        for key in stored_keys(record):
            key = hash(key)
            block = blocks.get(key)
            if block == position:
                del blocks[key]
            elif type(block) is list and position in block:
                block.remove(position)
                if len(block) == 1:
                    blocks[key] = block[0]

    def candidates(self, record: Prepared):
        """Positions of every known record sharing a block with `record`, ascending."""
        found = set()
        blocks = self._blocks
        for key in query_keys(record):
            block = blocks.get(hash(key))
            if block is None:
                continue
            if type(block) is int:
                found.add(block)
            else:
                found.update(block)
        return sorted(found)

    def __len__(self):
        return len(self._blocks)
