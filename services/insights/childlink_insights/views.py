"""What the gateway's city pages ask for, as plain dicts: the overview of every district, one district's
trends and its centres and health centres, one centre. Hidden small cells stay hidden here."""

from .calendar import SNAPSHOT, months_back
from .indicators import (
    BY_ID,
    INDICATORS,
    SMALL,
    by_scope,
    children_aged,
    group,
    median_days_to_close,
    running_counts,
)

SCOPES = ("city", "district", "facility", "centre")


class Refused(Exception):
    def __init__(self, code, field, message):
        super().__init__(message)
        self.error = {"code": code, "field": field, "message": message}


def indicator_or_refuse(indicator_id):
    indicator = BY_ID.get(indicator_id)
    if indicator is None:
        raise Refused("invalid", "indicator", f"unknown indicator {indicator_id!r}")
    return indicator


def check_month(month):
    parts = str(month or "").split("-")
    if len(parts) != 2 or not all(p.isdigit() for p in parts) or not 1 <= int(parts[1]) <= 12:
        raise Refused("invalid", "month", "month must be YYYY-MM")
    return month


def _public(value):
    """A value with its small counts hidden."""
    if value["suppressed"]:
        return {"value": None, "numerator": None, "denominator": None, "suppressed": True}
    return value


def definitions():
    return [{"id": i.id, "th": i.th, "en": i.en, "target": i.target, "higher_is_better": i.higher_is_better,
             "snapshot": i.snapshot, "rate": i.denominator is not None} for i in INDICATORS]


def overview(store, indicator_id, month):
    indicator = indicator_or_refuse(indicator_id)
    check_month(month)
    districts = by_scope(store, "district", indicator, month)
    city = by_scope(store, "city", indicator, month, ["BKK"])["BKK"]
    return {
        "indicator": indicator_id, "month": month, "target": indicator.target,
        "city": {**_public(city), "meets": indicator.meets(None if city["suppressed"] else city["value"])},
        "districts": {code: {**_public(v), "meets": indicator.meets(None if v["suppressed"] else v["value"])}
                      for code, v in districts.items()},
    }


def scope_page(store, scope, scope_id, month, months=12):
    """Every indicator's 12-month trend for one district, facility or centre, with the current figures."""
    if scope not in SCOPES:
        raise Refused("invalid", "scope", f"unknown scope {scope!r}")
    check_month(month)
    window = months_back(month, months)
    # one read of the scope's cells over the window and the current state: a page costs one query
    cells = group(store.cells(scope, [scope_id], [*window, SNAPSHOT]))
    for indicator in INDICATORS:
        if indicator.running:  # ... and one more for each count carried from month to month
            for key, counts in running_counts(store, scope, [scope_id], indicator, window).items():
                cells.setdefault(key, {}).update(counts)
    now = cells.get((scope_id, SNAPSHOT), {})
    rows = []
    for indicator in INDICATORS:
        if indicator.snapshot:
            value = indicator.value(now)
            rows.append({"indicator": indicator.id, "snapshot": _public(value),
                         "meets": indicator.meets(None if value["suppressed"] else value["value"])})
            continue
        points = [(m, indicator.value(cells.get((scope_id, m), {}))) for m in window]
        latest = points[-1][1]
        rows.append({"indicator": indicator.id, "trend": [(m, _public(v)) for m, v in points],
                     "meets": indicator.meets(None if latest["suppressed"] else latest["value"])})
    seat_count = now.get("centres.seats", 0)
    aged_2_to_6 = children_aged(store, scope, scope_id, month, 24, 72)
    reasons = {}
    for m in window:
        for counter, value in cells.get((scope_id, m), {}).items():
            if counter.startswith("referrals.reason."):
                reason = counter.removeprefix("referrals.reason.")
                reasons[reason] = reasons.get(reason, 0) + value
    assessed = now.get("centres.areas_assessed", 0)
    area_scores = {counter.split(".")[2]: round(value / assessed, 1) for counter, value in now.items()
                   if counter.startswith("centres.area.")} if assessed else {}
    return {"scope": scope, "scope_id": scope_id, "month": month, "indicators": rows,
            "area_scores": dict(sorted(area_scores.items())),
            "seats": int(seat_count), "children_2_to_6": aged_2_to_6,
            "median_days_to_close": median_days_to_close(store, scope, scope_id, window),
            "referral_reasons": {reason: (None if 0 < count < SMALL else int(count))
                                 for reason, count in sorted(reasons.items())}}


def members(store, district, kind):
    """The centres (kind "centre") or health centres ("facility") seen in a district, by id."""
    if kind not in ("centre", "facility"):
        raise Refused("invalid", "kind", "kind must be centre or facility")
    prefix = f"member.{kind}."
    return sorted({row["counter"].removeprefix(prefix)
                   for row in store.cells("district", [district], ["*"], prefix=prefix)})


class Answers:
    """The RPC answers the gateway gets: `{"ok": True, "value": ...}`, or `{"ok": False, "error": {code,
    field, message}}` for a refused query (never an exception across RPC)."""

    def __init__(self, store):
        self.store = store

    @staticmethod
    def _answer(call):
        try:
            return {"ok": True, "value": call()}
        except Refused as refused:
            return {"ok": False, "error": refused.error}

    def definitions(self):
        return self._answer(definitions)

    def overview(self, indicator, month):
        return self._answer(lambda: overview(self.store, indicator, month))

    def scope_page(self, scope, scope_id, month):
        return self._answer(lambda: scope_page(self.store, scope, scope_id, month))

    def members(self, district, kind):
        return self._answer(lambda: members(self.store, district, kind))
