"""Children with an overdue dose at the end of a month, against small hand-computed cases.

A girl born 10 January 2024: BCG and HBV1 are due at birth and overdue from 9 February 2024 (30 days'
grace), the 2-month doses from 9 April 2024, HBV2 (HBsAg-positive mother only) from 11 March 2024; she
is 72 months old on 10 January 2030, so December 2029 is the last month she can be counted.
"""

from childlink_contracts.epi_schedule import THAI_EPI
from childlink_insights.calendar import add_months
from childlink_insights.indicators import BY_ID, by_scope, trend
from childlink_insights.overdue import overdue_spans
from childlink_insights.views import overview, scope_page

from .fixtures import child_event

BORN = "2024-01-10"
OVERDUE = BY_ID["epi_overdue"]


def overdue_in(store, month, district="1001"):
    return by_scope(store, "district", OVERDUE, month, [district])[district]["numerator"]


def immunised(on, vaccine, dose, **kwargs):
    return child_event("child.immunised", on, {"vaccine": vaccine, "dose": dose}, **kwargs)


def measured(on, **kwargs):
    return child_event("child.growth_measured", on, {"weight_kg": 8.0, "height_cm": 70.0}, **kwargs)


def every_dose_on_time(born, **kwargs):
    import datetime as dt
    birth = dt.date.fromisoformat(born)
    return [immunised(add_months(birth, slot["due_months"]).isoformat(), vaccine, dose, **kwargs)
            for slot in THAI_EPI if not slot.get("only_if") for vaccine, dose in slot["doses"]
            if not (vaccine == "ROTA" and dose > 2)]


def test_a_child_given_every_dose_on_time_is_never_overdue(store, take):
    take(*every_dose_on_time(BORN))
    for month in ("2024-02", "2024-04", "2025-08", "2028-02", "2029-12"):
        assert overdue_in(store, month) == 0, month


def test_a_followed_child_with_no_dose_recorded_is_overdue_from_the_month_bcg_falls_overdue(store, take):
    take(measured("2024-03-01"))
    assert overdue_in(store, "2024-01") == 0  # BCG not yet overdue on 31 January
    assert overdue_in(store, "2024-02") == 1  # overdue since 9 February
    assert overdue_in(store, "2027-06") == 1
    assert overdue_in(store, "2029-12") == 1  # 71 months old on 31 December 2029
    assert overdue_in(store, "2030-01") == 0  # 72 months on 10 January 2030: no overdue past 72 months
    cells = [r for r in store.cells("district", ["1001"], None, prefix="epi.overdue.change")]
    assert sorted((r["month"], r["value"]) for r in cells) == [("2024-02", 1), ("2030-01", -1)]  # two cells


def test_doses_not_yet_due_are_not_overdue(store, take):
    take(immunised(BORN, "BCG", 1), immunised(BORN, "HBV", 1))
    assert overdue_in(store, "2024-02") == 0
    assert overdue_in(store, "2024-03") == 0  # the 2-month doses are due on 10 March, overdue on 9 April
    assert overdue_in(store, "2024-04") == 1


def test_a_dose_given_late_ends_the_overdue_months_it_caused(store, take):
    take(immunised(BORN, "HBV", 1), immunised("2024-03-05", "BCG", 1))
    assert [overdue_in(store, m) for m in ("2024-01", "2024-02", "2024-03", "2024-04")] == [0, 1, 0, 1]


def test_hbv2_counts_only_for_an_infant_of_an_hbsag_positive_mother(store, take):
    take(immunised(BORN, "BCG", 1), immunised(BORN, "HBV", 1))
    take(immunised(BORN, "BCG", 1, local_id="B2"), immunised(BORN, "HBV", 1, local_id="B2"),
         child_event("child.registered", BORN, {"mother_hbsag_positive": True}, local_id="B2"))
    assert overdue_in(store, "2024-02") == 0
    assert overdue_in(store, "2024-03") == 1  # B2's HBV2 is overdue from 11 March; A1 has none due


def test_a_child_past_72_months_is_no_longer_counted(store, take):
    take(measured("2026-03-01", birth_date="2019-06-15", local_id="OLD"))
    assert overdue_in(store, "2025-05") == 1
    assert overdue_in(store, "2025-06") == 0  # 72 months on 15 June 2025
    assert overdue_in(store, "2026-03") == 0


def test_a_child_no_health_centre_follows_is_not_counted(store, take):
    take(child_event("child.enrolled", "2024-06-01", {"centre_id": "C01"}, department="social",
                     facility={"code": "C01", "district_code": "1001"}))
    assert overdue_in(store, "2024-06") == 0


def test_a_correction_and_a_retraction_of_a_dose_move_the_overdue_months(store, take):
    bcg = immunised(BORN, "BCG", 1)
    take(bcg, immunised(BORN, "HBV", 1))
    assert overdue_in(store, "2024-02") == 0
    corrected = immunised("2024-03-05", "BCG", 1, supersedes=bcg["event_id"])  # it was given in March
    take(corrected)
    assert [overdue_in(store, m) for m in ("2024-02", "2024-03")] == [1, 0]
    take(child_event("event.retracted", "2024-03-06", {"reason": "entered_in_error"},
                     supersedes=corrected["event_id"]))
    assert [overdue_in(store, m) for m in ("2024-02", "2024-03")] == [1, 1]  # no BCG recorded at all


def _compact(on, vaccine, dose, code=None):
    p = {"vaccine": vaccine, "dose": dose, **({"vaccine_code": code} if code else {})}
    return {"type": "child.immunised", "date": on, "p": p}


def test_rotavirus_follows_the_product_and_its_last_age():
    import datetime as dt
    birth = dt.date(2024, 1, 31)
    april, august = 2024 * 12 + 3, 2024 * 12 + 7
    others = [_compact(e["occurred_at"][:10], e["payload"]["vaccine"], e["payload"]["dose"])
              for e in every_dose_on_time("2024-01-31") if e["payload"]["vaccine"] != "ROTA"]
    # rotavirus 1 due 31 March, overdue from 30 April, last age 15 May (15 weeks): overdue at April's end
    # only; never started, so doses 2 and 3 are not overdue at all
    assert overdue_spans(birth, others) == [(april, april)]
    rotarix = [_compact("2024-03-31", "ROTA", 1, "R11"), _compact("2024-05-31", "ROTA", 2, "R12")]
    assert overdue_spans(birth, others + rotarix) == []  # Rotarix: two doses
    # RotaTeq dose 3 due 31 July, overdue from 30 August, last age 11 September (32 weeks)
    rotateq = [_compact("2024-03-31", "ROTA", 1, "R21"), _compact("2024-05-31", "ROTA", 2, "R22")]
    assert overdue_spans(birth, others + rotateq) == [(august, august)]


def test_the_pages_read_the_count_summed_up_to_each_month(store, take):
    for n in range(5):
        take(measured("2024-03-01", local_id=f"K{n}"))
    take(*every_dose_on_time(BORN, local_id="K0"))  # K0 caught up: every dose on its day, none overdue
    view = overview(store, "epi_overdue", "2024-06")
    assert view["districts"]["1001"]["suppressed"] is True  # 4 children: "<5"
    points = dict(trend(store, "district", "1001", OVERDUE, "2024-06", months=6))
    assert points["2024-01"]["numerator"] == 0 and points["2024-06"]["numerator"] == 4
    page = scope_page(store, "district", "1001", "2024-06")
    row = next(r for r in page["indicators"] if r["indicator"] == "epi_overdue")
    assert [point["suppressed"] for _, point in row["trend"]][-1] is True
    take(measured("2024-03-01", local_id="K5"))
    view = overview(store, "epi_overdue", "2024-06")
    assert view["districts"]["1001"]["value"] == 5 and view["city"]["value"] == 5
