"""43-file rows -> childlink health events, each refused row named (file, line, column, why).

- PERSON -> `child.registered` (children 0-6 only: a person under 7 on the day of import, or with a
  service row dated before the 7th birthday); the mother's (else the father's) PERSON row gives the guardian.
- EPI -> `child.immunised` (VACCINETYPE -> vaccine and dose); NUTRITION -> `child.growth_measured`;
  SPECIALPP -> `child.screened`, one per child and service day from the DSPM codes of that day.

Identity of an event: uuid5 of HOSPCODE|PID|SEQ|DATE_SERV|code (PERSON: HOSPCODE|PID|||PERSON). The first
version of a row takes that id; a row with a newer D_UPDATE is sent as a correction (`supersedes` the
version before it), with the id uuid5(key|D_UPDATE). The ledger remembers which version of each key the
service took, so importing the same files again sends the same ids (answered `duplicate`: nothing changes)
and a later export's newer rows become corrections.
"""

import datetime as dt
import uuid
from dataclasses import dataclass, field

from childlink_contracts import ContractError, validate_event
from childlink_contracts.health import DSPM_AGES_MONTHS, DSPM_DOMAINS, ImmunisedV1
from childlink_contracts.national_id import is_valid_national_id

from .codes import UnknownCode, dspm_code, vaccine_of
from .reading import RowProblem
from .values import BANGKOK, BadValue, parse_date, parse_decimal, parse_instant, service_instant

NAMESPACE = uuid.UUID("5d9c3c3e-43f1-5e2b-9a43-6368696c646c")  # childlink 43-file events
CHILD_AGE_LIMIT_YEARS = 7
DSPM_END_MONTHS = 72
RESCREEN_CARRY_MONTHS = 2  # a re-screen keeps the first screen's band although the child crossed into the next
PHONE_DIGITS = range(9, 11)
# sent beside the name once the health contract knows the field (it does from the Thai-codes change on)
SENDS_VACCINE_CODE = "vaccine_code" in ImmunisedV1._declared_fields

FIELD_COLUMNS = {
    "payload.weight_kg": "WEIGHT", "payload.height_cm": "HEIGHT", "payload.head_circumference_cm": "HEADCIRCUM",
    "payload.vaccine": "VACCINETYPE", "payload.dose": "VACCINETYPE", "payload.vaccine_code": "VACCINETYPE",
    "payload.age_band_months": "DATE_SERV", "payload.domains": "PPSPECIAL", "occurred_at": "DATE_SERV",
    "recorded_at": "D_UPDATE", "source.facility.code": "HOSPCODE", "subject.child.local_id": "PID",
    "subject.child.birth_date": "BIRTH", "subject.child.national_id": "CID", "subject.child.given_name": "NAME",
    "subject.child.family_name": "LNAME", "subject.child.sex": "SEX",
}


@dataclass
class Prepared:
    key: str  # HOSPCODE|PID|SEQ|DATE_SERV|code
    d_update: str
    event: dict
    where: str  # "EPI.txt line 7"
    rows: list  # the Rows it came from


@dataclass
class Mapped:
    events: list = field(default_factory=list)  # Prepared, in sending order
    refused: list = field(default_factory=list)  # RowProblem
    notes: list = field(default_factory=list)  # RowProblem: imported, but something was left out
    skipped: dict = field(default_factory=dict)  # why -> count (not children's records, older versions)

    def skip(self, why, n=1):
        self.skipped[why] = self.skipped.get(why, 0) + n


@dataclass
class Settings:
    system: str = "his-43file"
    district: str | None = None  # of facilities not in facility_districts
    facility_districts: dict = field(default_factory=dict)
    resend: bool = False  # send rows the ledger says were taken (under the same ids) again
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(BANGKOK))


class Refused(Exception):
    def __init__(self, column, why):
        self.column, self.why = column, why
        super().__init__(why)


def _value(row, column, parse, *args):
    text = row.values.get(column, "")
    if not text:
        raise Refused(column, "is empty")
    try:
        return parse(text, *args)
    except BadValue as exc:
        raise Refused(column, str(exc)) from None


def _where(row):
    return f"{row.file} line {row.line}"


def completed_months(birth, on):
    months = (on.year - birth.year) * 12 + on.month - birth.month - (1 if on.day < birth.day else 0)
    return max(months, 0)


def _seventh_birthday(birth):
    try:
        return birth.replace(year=birth.year + CHILD_AGE_LIMIT_YEARS)
    except ValueError:  # 29 February
        return dt.date(birth.year + CHILD_AGE_LIMIT_YEARS, 3, 1)


@dataclass
class Person:
    row: object
    hospcode: str
    pid: str
    birth: dt.date
    subject: dict
    d_update: str
    refused: str | None = None  # why its record was refused: its service rows go with it


class Importer:
    def __init__(self, tables, settings, ledger=None):
        self.tables = tables  # {name: TableFile}
        self.settings = settings
        self.ledger = ledger if ledger is not None else {}
        self.out = Mapped()
        self.persons = {}  # (HOSPCODE, PID) -> Person (children only)
        self._person_rows = {}  # (HOSPCODE, PID) -> newest Row of anyone, for guardians
        self._registrations = []  # Prepared child.registered, sent before the rest

    # --- the steps ----------------------------------------------------------------------------

    def run(self, progress=None):
        for table in self.tables.values():
            self.out.refused.extend(table.problems)
        service_rows = [r for name in ("EPI", "NUTRITION", "SPECIALPP") for r in self._rows(name)]
        self._people(service_rows)
        prepared = []
        for row in self._rows("EPI"):
            prepared += self._one(row, self._immunised)
            progress and progress.update(1)
        for row in self._rows("NUTRITION"):
            prepared += self._one(row, self._growth)
            progress and progress.update(1)
        prepared += self._screenings(self._rows("SPECIALPP"), progress)
        for name in ("REFER_HISTORY", "REFER_RESULT"):
            rows = self._rows(name)
            children = sum(1 for r in rows if (r.values.get("HOSPCODE"), r.values.get("PID")) in self.persons)
            if children:
                self.out.skip(f"{name} rows of children 0-6 read but not imported: childlink raises its own "
                              "referrals (docs/import-43.md)", children)
            if len(rows) > children:
                self.out.skip(f"{name} rows of others (or without a PID column)", len(rows) - children)
        self._version(prepared)
        return self.out

    def _rows(self, name):
        return self.tables[name].rows if name in self.tables else []

    def _refuse(self, row, column, why):
        self.out.refused.append(RowProblem(row.file, row.line, column, why))

    def _district(self, hospcode):
        district = self.settings.facility_districts.get(hospcode) or self.settings.district
        if district is None:
            raise Refused("HOSPCODE", f"facility {hospcode} has no district: give --district or "
                                      f"--facility-district {hospcode}=10xx")
        return district

    # --- PERSON -------------------------------------------------------------------------------

    def _people(self, service_rows):
        newest = {}
        for row in self._rows("PERSON"):
            key = (row.values.get("HOSPCODE", ""), row.values.get("PID", ""))
            if not all(key):
                self._refuse(row, "PID" if key[0] else "HOSPCODE", "is empty")
                continue
            newest.setdefault(key, []).append(row)
        served_before = {}
        for row in service_rows:
            try:
                day = parse_date(row.values.get("DATE_SERV", ""))
            except BadValue:
                continue
            key = (row.values.get("HOSPCODE", ""), row.values.get("PID", ""))
            served_before[key] = min(day, served_before.get(key, day))
        for key, rows in newest.items():
            rows.sort(key=lambda r: r.values.get("D_UPDATE", ""))
            self._person_rows[key] = rows[-1]
        for key, rows in newest.items():
            versions = []
            for row in rows:
                try:
                    birth = parse_date(row.values.get("BIRTH", ""))
                except BadValue:
                    birth = None  # refused below, naming the column
                if birth is not None and self._grown_up(birth, served_before.get(key)):
                    # the parents' and other adults' rows: not childlink's, whatever else they hold
                    self.out.skip("PERSON rows of people 7 or older (childlink holds children 0-6)")
                    break
                try:
                    person = self._person(row)
                except Refused as refusal:
                    self._refuse(row, refusal.column, refusal.why)
                    if row is rows[-1]:
                        self.persons[key] = Person(row, *key, None, {}, "", refused=_where(row))
                    continue
                versions.append(person)
            if versions:
                self.persons[key] = versions[-1]
                for person in versions:
                    self._registered(person)

    def _grown_up(self, birth, first_service):
        """7 or older today, and no service row from before the 7th birthday."""
        limit = _seventh_birthday(birth)
        return self.settings.now.date() >= limit and (first_service is None or first_service >= limit)

    def _person(self, row):
        v = row.values
        birth = _value(row, "BIRTH", parse_date)
        if birth > self.settings.now.date():
            raise Refused("BIRTH", f"{v['BIRTH']} is in the future")
        sex = {"1": "male", "2": "female"}.get(v.get("SEX", ""))
        if sex is None:
            raise Refused("SEX", f"{v.get('SEX', '')!r} is not 1 (male) or 2 (female)")
        child = {"local_id": v["PID"], "birth_date": birth.isoformat(), "sex": sex}
        for column, name in (("NAME", "given_name"), ("LNAME", "family_name")):
            if v.get(column):
                child[name] = v[column]
        cid = v.get("CID", "")
        if cid and is_valid_national_id(cid):
            child["national_id"] = cid
        elif cid:
            self.out.notes.append(RowProblem(row.file, row.line, "CID", "not a valid Thai national ID "
                                             "(13 digits, check digit): the child was imported without it"))
        guardian = self._guardian(v)
        if guardian:
            child["guardian"] = guardian
        return Person(row, v["HOSPCODE"], v["PID"], birth, {"child": child}, v.get("D_UPDATE", ""))

    def _guardian(self, v):
        for column, relation in (("MOTHER", "mother"), ("FATHER", "father")):
            parent = self._person_rows.get((v["HOSPCODE"], v.get(column, ""))) if v.get(column) else None
            if parent is None:
                continue
            p = parent.values
            guardian = {"relation": relation}
            if is_valid_national_id(p.get("CID", "")):
                guardian["national_id"] = p["CID"]
            for column_, name in (("NAME", "given_name"), ("LNAME", "family_name")):
                if p.get(column_):
                    guardian[name] = p[column_]
            for phone_column in ("MOBILE", "TELEPHONE"):
                phone = "".join(ch for ch in p.get(phone_column, "") if ch.isdigit())
                if phone.startswith("0") and len(phone) in PHONE_DIGITS:
                    guardian["phone"] = phone
                    break
            return guardian
        return None

    def _registered(self, person):
        v = person.row.values
        occurred = person.birth
        if v.get("MOVEIN"):
            try:
                occurred = max(parse_date(v["MOVEIN"]), person.birth)
            except BadValue as exc:
                self.out.notes.append(RowProblem(person.row.file, person.row.line, "MOVEIN",
                                                 f"{exc}: registered on the birth date instead"))
        try:
            prepared = self._prepare(person.row, person, "child.registered", occurred, {},
                                     f"{person.hospcode}|{person.pid}|||PERSON")
        except Refused as refusal:
            self._refuse(person.row, refusal.column, refusal.why)
            person.refused = _where(person.row)
            return
        self._registrations.append(prepared)

    # --- service rows ---------------------------------------------------------------------------

    def _child_of(self, row):
        key = (row.values.get("HOSPCODE", ""), row.values.get("PID", ""))
        person = self.persons.get(key)
        if person is None:
            if key in self._person_rows:
                return None  # not a child: counted, not refused
            raise Refused("PID", f"no PERSON row for PID {key[1]!r} at {key[0]!r}")
        if person.refused:
            raise Refused("PID", f"the child's PERSON row ({person.refused}) was refused")
        return person

    def _service_day(self, row, person):
        day = _value(row, "DATE_SERV", parse_date)
        if day > self.settings.now.date():
            raise Refused("DATE_SERV", f"{row.values['DATE_SERV']} is in the future")
        if day < person.birth:
            raise Refused("DATE_SERV", f"{day.isoformat()} is before the child's birth ({person.birth.isoformat()})")
        return day

    def _one(self, row, build):
        try:
            person = self._child_of(row)
            if person is None:
                self.out.skip(f"{row.file.split('.')[0].upper()} rows of people 7 or older")
                return []
            day = self._service_day(row, person)
            if day >= _seventh_birthday(person.birth):
                self.out.skip("service rows dated from the child's 7th birthday")
                return []
            return [build(row, person, day)]
        except Refused as refusal:
            self._refuse(row, refusal.column, refusal.why)
            return []

    def _immunised(self, row, person, day):
        code = row.values.get("VACCINETYPE", "").upper()
        if not code:
            raise Refused("VACCINETYPE", "is empty")
        try:
            vaccine, dose = vaccine_of(code)
        except UnknownCode as exc:
            raise Refused("VACCINETYPE", str(exc)) from None
        payload = {"vaccine": vaccine, "dose": dose}
        if SENDS_VACCINE_CODE:
            payload["vaccine_code"] = code
        return self._prepare(row, person, "child.immunised", day, payload, self._key(row, code))

    def _growth(self, row, person, day):
        payload = {"weight_kg": _value(row, "WEIGHT", parse_decimal, "kg"),
                   "height_cm": _value(row, "HEIGHT", parse_decimal, "cm")}
        head = row.values.get("HEADCIRCUM", "")
        if head and parse_decimal(head, "cm") != 0:  # 0 is how the systems write "not measured"
            payload["head_circumference_cm"] = _value(row, "HEADCIRCUM", parse_decimal, "cm")
        return self._prepare(row, person, "child.growth_measured", day, payload, self._key(row, "NUTRITION"))

    @staticmethod
    def _key(row, code):
        v = row.values
        return f"{v['HOSPCODE']}|{v['PID']}|{v.get('SEQ', '')}|{v['DATE_SERV']}|{code}"

    def _screenings(self, rows, progress):
        """One `child.screened` per child and service day: the day's domain codes, the overall code for
        the domains it settles (1B260: all normal), a re-screen when an earlier screen of the same band
        found a suspected delay."""
        days = {}
        for row in rows:
            progress and progress.update(1)
            try:
                found = dspm_code(row.values.get("PPSPECIAL", ""))
            except UnknownCode as exc:
                self._refuse(row, "PPSPECIAL", str(exc))
                continue
            if found is None:
                self.out.skip("SPECIALPP rows that are not DSPM codes")
                continue
            if found[0] == "teda4i":
                self.out.skip("SPECIALPP TEDA4I results (1B270-1B275: a hospital's assessment, sent by medical)")
                continue
            try:
                person = self._child_of(row)
                if person is None:
                    self.out.skip("SPECIALPP rows of people 7 or older")
                    continue
                day = self._service_day(row, person)
            except Refused as refusal:
                self._refuse(row, refusal.column, refusal.why)
                continue
            days.setdefault((person.hospcode, person.pid, day), []).append((row, found))
        prepared, last_band = [], {}
        for (hospcode, pid, day), found in sorted(days.items()):
            person = self.persons[(hospcode, pid)]
            rows = [row for row, _ in found]
            try:
                domains = self._domains(found)
                band, rescreen = self._band(person, day, last_band.get((hospcode, pid)))
            except Refused as refusal:
                for row in rows:
                    self._refuse(row, refusal.column, refusal.why)
                continue
            if set(domains.values()) & {"suspected_delay"}:
                last_band[(hospcode, pid)] = (band, day)
            first = min(rows, key=lambda r: r.line)
            event = self._prepare(first, person, "child.screened", day,
                                  {"age_band_months": band, "rescreen": rescreen, "domains": domains},
                                  self._key(first, "DSPM"), rows=rows,
                                  d_update=max(r.values.get("D_UPDATE", "") for r in rows))
            prepared.append(event)
        return prepared

    @staticmethod
    def _domains(found):
        domains, overall = {}, None
        for row, code in sorted(found, key=lambda f: f[0].values.get("D_UPDATE", "")):
            if code[0] == "domain":
                domains[code[1]] = code[2]  # the newest row of a domain wins
            else:
                overall = code[1]
        if overall == "normal":
            flagged = [d for d, r in domains.items() if r != "normal"]
            if flagged:
                raise Refused("PPSPECIAL", f"1B260 (all normal) with {flagged[0]} not normal on the same day")
        elif overall is not None and not domains:
            raise Refused("PPSPECIAL", f"overall {'1B261' if overall == 'suspected_delay' else '1B262'} "
                                       "without a domain code (1B200-1B249): which domain is not known")
        elif overall is None and len(domains) < len(DSPM_DOMAINS):
            missing = [d for d in DSPM_DOMAINS if d not in domains]
            raise Refused("PPSPECIAL", f"no code for {', '.join(missing)} and no overall code (1B260-1B262) "
                                       "that day")
        # the domains an overall code leaves uncoded passed: the standard codes the domains that did not
        return {d: domains.get(d, "normal") for d in DSPM_DOMAINS}

    @staticmethod
    def _band(person, day, suspected_before):
        months = completed_months(person.birth, day)
        if months >= DSPM_END_MONTHS:
            raise Refused("DATE_SERV", f"no DSPM from 72 months: the child is {months} months old")
        reached = [age for age in DSPM_AGES_MONTHS if age <= months]
        if not reached:
            raise Refused("DATE_SERV", f"the child is {months} months old: the first DSPM band is 9 months")
        band = reached[-1]
        if suspected_before:
            earlier_band, earlier_day = suspected_before
            if earlier_band == band or (earlier_band < band and months < band + RESCREEN_CARRY_MONTHS
                                        and (day - earlier_day).days <= 60):
                return earlier_band, True
        return band, False

    # --- events ---------------------------------------------------------------------------------

    def _prepare(self, row, person, type_, day, payload, key, rows=None, d_update=None):
        hospcode = row.values.get("HOSPCODE", "")
        d_update = row.values.get("D_UPDATE", "") if d_update is None else d_update
        recorded = self.settings.now
        if d_update:
            try:
                recorded = min(parse_instant(d_update), self.settings.now)
            except BadValue as exc:
                raise Refused("D_UPDATE", str(exc)) from None
        occurred = service_instant(day, self.settings.now)
        event = {
            "event_id": "", "type": type_, "version": 1,
            "occurred_at": occurred.isoformat(), "recorded_at": max(recorded, occurred).isoformat(),
            "source": {"department": "health", "system": self.settings.system,
                       "facility": {"code": hospcode, "district_code": self._district(hospcode)}},
            "subject": person.subject, "payload": payload,
        }
        return Prepared(key, d_update, event, _where(row), rows or [row])

    def _version(self, prepared):
        """Ids, corrections and the contract check, in sending order: registrations first."""
        chains = {}
        for item in self._registrations + prepared:
            chains.setdefault(item.key, []).append(item)
        for key, versions in chains.items():
            versions.sort(key=lambda p: p.d_update)
            known = self.ledger.get(key)
            previous = known["event_id"] if known else None
            for index, item in enumerate(versions):
                if index + 1 < len(versions) and versions[index + 1].d_update == item.d_update:
                    self.out.skip("rows repeated with the same D_UPDATE")
                    continue
                if known and item.d_update < known["d_update"]:
                    self.out.skip("rows older than the version already imported")
                    continue
                if known and item.d_update == known["d_update"]:
                    if not self.settings.resend:
                        # taken before; sent again its content may differ (a newer PERSON row changes the
                        # subject), which the service would refuse as a conflict: nothing is gained
                        self.out.skip("rows already imported (in the ledger; --resend sends them again)")
                        previous = known["event_id"]
                        continue
                    item.event["event_id"] = known["event_id"]  # sent again: answered duplicate
                    item.event.pop("supersedes", None)
                    if known.get("supersedes"):
                        item.event["supersedes"] = known["supersedes"]
                elif previous is None:
                    item.event["event_id"] = str(uuid.uuid5(NAMESPACE, key))
                else:
                    item.event["event_id"] = str(uuid.uuid5(NAMESPACE, f"{key}|{item.d_update}"))
                    item.event["supersedes"] = previous
                previous = item.event["event_id"]
                item.event["correlation_id"] = item.event["event_id"]
                if self._valid(item):
                    self.out.events.append(item)

    def _valid(self, item):
        try:
            validate_event(item.event, "health")
        except ContractError as exc:
            for path, messages in sorted(exc.errors.items()):
                column = FIELD_COLUMNS.get(path) or FIELD_COLUMNS.get(path.rsplit(".", 1)[0], path)
                for row in item.rows:
                    self._refuse(row, column, " ".join(messages))
            return False
        return True
