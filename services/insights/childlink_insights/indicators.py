"""The indicators: names in Thai and English, numerator and denominator counters, target, and how a
value is read from the cells. docs/indicators.md gives each definition and its source.

Small cells are hidden (Thai PDPA): a count of 1-4 children, or a rate over such a count, is shown as
"<5" and is left out of downloads.
"""

from dataclasses import dataclass

from .calendar import SNAPSHOT, months_back, shift_month
from .facts import DSPM_AGES

SMALL = 5


def _whole(value):
    """Counts come back from a store as floats (sums of deltas); a whole number is shown as one."""
    return int(value) if float(value).is_integer() else value


@dataclass(frozen=True)
class Indicator:
    id: str
    th: str
    en: str
    numerator: str
    denominator: str | None = None
    target: float | None = None
    higher_is_better: bool = True
    snapshot: bool = False  # a current state (centres), not a month's figure
    counts_children: bool = True  # centres are counted as centres: their small counts identify no child
    running: bool = False  # cells hold +/- changes: a month's value is the sum of the changes up to it

    def value(self, counts):
        """{value, numerator, denominator, suppressed} from {counter: value} of one cell group."""
        num = _whole(counts.get(self.numerator, 0))
        den = _whole(counts.get(self.denominator, 0)) if self.denominator else None
        suppressed = self.counts_children and (0 < num < SMALL or (den is not None and 0 < den < SMALL))
        value = None if den in (None, 0) else round(100 * num / den, 1)
        return {"numerator": num, "denominator": den, "value": value if self.denominator else num,
                "suppressed": suppressed}

    def meets(self, value):
        if self.target is None or value is None:
            return None
        return value >= self.target if self.higher_is_better else value <= self.target


def _dspm(age):
    p = f"dspm.{age}."
    return [
        Indicator(f"dspm_screened_{age}", f"คัดกรองพัฒนาการ {age} เดือน ภายใน 30 วัน",
                  f"Screened at {age} months within 30 days", p + "screened_in_time", p + "target", 90),
        Indicator(f"dspm_suspected_{age}", f"พบสงสัยล่าช้า {age} เดือน (ของผู้ได้รับการคัดกรอง)",
                  f"Suspected delay found at {age} months (of screened)", p + "suspected", p + "screened", 20),
        Indicator(f"dspm_followed_{age}", f"สงสัยล่าช้า {age} เดือน ได้รับการติดตามภายใน 30 วัน",
                  f"Suspected at {age} months followed up within 30 days", p + "followed_in_time",
                  p + "stimulate", 90),
        Indicator(f"dspm_on_track_{age}", f"พัฒนาการสมวัย {age} เดือน (ของผู้ได้รับการคัดกรอง)",
                  f"On track at {age} months (of screened)", p + "on_track", p + "screened", 85),
        Indicator(f"dspm_on_track_all_{age}", f"พัฒนาการสมวัย {age} เดือน (ของเด็กทุกคนที่อายุครบ)",
                  f"On track at {age} months (of all children reaching the age)", p + "on_track", p + "target"),
        Indicator(f"dspm_teda4i_{age}", f"เด็กล่าช้า {age} เดือน ได้รับการกระตุ้นด้วย TEDA4I",
                  f"Delayed at {age} months stimulated with TEDA4I", p + "teda4i", p + "delayed"),
    ]


INDICATORS = [
    *[indicator for age in DSPM_AGES for indicator in _dspm(age)],
    Indicator("epi_full_age1", "ได้รับวัคซีนครบตามเกณฑ์ อายุ 1 ปี", "Fully immunised at age 1",
              "epi.age1.full", "epi.age1.target", 90),
    Indicator("epi_full_age2", "ได้รับวัคซีนครบตามเกณฑ์ อายุ 2 ปี", "Fully immunised at age 2",
              "epi.age2.full", "epi.age2.target", 90),
    Indicator("epi_overdue", "เด็กที่มีวัคซีนค้างเกินกำหนด (ณ สิ้นเดือน)", "Children with an overdue dose (at the month's end)",
              "epi.overdue.change", higher_is_better=False, running=True),
    Indicator("growth_underweight", "น้ำหนักต่ำกว่าเกณฑ์ (น้ำหนักตามอายุ < -2 SD)", "Underweight (weight-for-age < -2 SD)",
              "growth.underweight", "growth.z_wfa.known", 10, higher_is_better=False),
    Indicator("growth_underweight_severe", "น้ำหนักต่ำกว่าเกณฑ์รุนแรง (< -3 SD)", "Severely underweight (< -3 SD)",
              "growth.underweight_severe", "growth.z_wfa.known", higher_is_better=False),
    Indicator("growth_stunting", "เตี้ย (ความยาว/ส่วนสูงตามอายุ < -2 SD)", "Stunting (length/height-for-age < -2 SD)",
              "growth.stunting", "growth.z_lhfa.known", 10, higher_is_better=False),
    Indicator("growth_stunting_severe", "เตี้ยรุนแรง (< -3 SD)", "Severe stunting (< -3 SD)",
              "growth.stunting_severe", "growth.z_lhfa.known", higher_is_better=False),
    Indicator("growth_wasting", "ผอม (น้ำหนักตามความยาว/ส่วนสูง < -2 SD)", "Wasting (weight-for-length/height < -2 SD)",
              "growth.wasting", "growth.z_wflh.known", 5, higher_is_better=False),
    Indicator("growth_wasting_severe", "ผอมรุนแรง (< -3 SD)", "Severe wasting (< -3 SD)",
              "growth.wasting_severe", "growth.z_wflh.known", higher_is_better=False),
    Indicator("growth_overweight", "เริ่มอ้วนและอ้วน (น้ำหนักตามความยาว/ส่วนสูง > +2 SD)",
              "Overweight (weight-for-length/height > +2 SD)", "growth.overweight", "growth.z_wflh.known", 10,
              higher_is_better=False),
    Indicator("growth_measured", "เด็กที่ได้รับการชั่งน้ำหนักวัดส่วนสูง", "Children measured", "growth.measured"),
    Indicator("referrals_raised", "การส่งต่อที่เกิดขึ้น", "Referrals raised", "referrals.raised"),
    Indicator("referrals_closed", "การส่งต่อที่ปิดพร้อมผลลัพธ์", "Referrals closed with an outcome", "referrals.closed"),
    Indicator("referrals_expired", "การส่งต่อที่หมดเวลา", "Referrals expired", "referrals.expired"),
    Indicator("centres_registered", "ศูนย์พัฒนาเด็กที่ขึ้นทะเบียน", "Registered centres", "centres.registered",
              snapshot=True, counts_children=False),
    Indicator("centres_good", "ศูนย์ที่ผ่านมาตรฐานระดับดีขึ้นไป", "Centres at \"good\" or above",
              "centres.good_or_above", "centres.assessed", 90, snapshot=True, counts_children=False),
    Indicator("centre_children_on_track", "เด็กในศูนย์ที่มีพัฒนาการสมวัย", "Children in centres on track",
              "centre.children_on_track", "centre.children_screened", 85, snapshot=True),
    Indicator("centre_attendance", "อัตราการมาศูนย์", "Attendance at centres", "attendance.present",
              "attendance.expected"),
]
BY_ID = {indicator.id: indicator for indicator in INDICATORS}


def group(rows):
    """{(scope_id, month): {counter: value}} from cell rows."""
    grouped = {}
    for row in rows:
        grouped.setdefault((row["scope_id"], row["month"]), {})[row["counter"]] = row["value"]
    return grouped


def _counters(indicator):
    return [c for c in (indicator.numerator, indicator.denominator) if c]


def running_counts(store, scope, scope_ids, indicator, months):
    """{(scope_id, month): {numerator: value}} of a running indicator: its changes summed up to each month."""
    changes = {}
    for row in store.cells(scope, scope_ids, None, prefix=indicator.numerator):
        if row["counter"] == indicator.numerator:
            changes.setdefault(row["scope_id"], []).append((row["month"], row["value"]))
    counts = {}
    for scope_id, rows in changes.items():
        for month in months:
            counts[(scope_id, month)] = {indicator.numerator: sum(v for m, v in rows if m <= month)}
    return counts


def by_scope(store, scope, indicator, month, scope_ids=None):
    """{scope_id: value dict} of one indicator in one month (or the current state, for snapshots)."""
    key_month = SNAPSHOT if indicator.snapshot else month
    if indicator.running:
        grouped = running_counts(store, scope, scope_ids, indicator, [key_month])
    else:
        grouped = group(row for counter in _counters(indicator)
                        for row in store.cells(scope, scope_ids, [key_month], prefix=counter)
                        if row["counter"] == counter)
    ids = scope_ids if scope_ids is not None else sorted({scope_id for scope_id, _ in grouped})
    return {scope_id: indicator.value(grouped.get((scope_id, key_month), {})) for scope_id in ids}


def trend(store, scope, scope_id, indicator, month, months=12):
    """[(month, value dict)] over the `months` months ending with `month`."""
    keys = months_back(month, months)
    if indicator.running:
        grouped = running_counts(store, scope, [scope_id], indicator, keys)
    else:
        grouped = group(row for counter in _counters(indicator)
                        for row in store.cells(scope, [scope_id], keys, prefix=counter) if row["counter"] == counter)
    return [(key, indicator.value(grouped.get((scope_id, key), {}))) for key in keys]


def children_aged(store, scope, scope_id, month, from_months, to_months):
    """Known children aged from_months up to (not including) to_months at the start of `month`, from the
    birth-month counts: the seats-against-children denominator."""
    births = [shift_month(month, -age) for age in range(from_months, to_months)]
    return int(sum(row["value"] for row in store.cells(scope, [scope_id], births, prefix="children.born")))


def median_days_to_close(store, scope, scope_id, months):
    """The median days from a referral's request to its close over those months (histogram cells)."""
    counts = {}
    for row in store.cells(scope, [scope_id], months, prefix="referrals.days_to_close."):
        days = int(row["counter"].rsplit(".", 1)[1])
        counts[days] = counts.get(days, 0) + row["value"]
    total = sum(counts.values())
    if total == 0:
        return None
    seen = 0
    for days in sorted(counts):
        seen += counts[days]
        if seen >= total / 2:
            return days
    return None
