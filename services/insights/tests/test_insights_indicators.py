"""Indicator values against small hand-computed cases: a few children cover each branch of each definition."""

import pytest
from childlink_insights.aggregate import Aggregator
from childlink_insights.views import Refused, members, overview, scope_page
from childlink_referral.growth import zscores

from .fixtures import centre_event, child_event, referral_event, screened

# a girl born 10 January 2024 reaches 9 months on 10 October 2024 and 18 months on 10 July 2025
BORN = "2024-01-10"


def cell(store, counter, month, scope="district", scope_id="1001"):
    rows = [r for r in store.cells(scope, [scope_id], [month], prefix=counter) if r["counter"] == counter]
    return rows[0]["value"] if rows else 0


def test_dspm_pass_at_first_screen_in_time_is_screened_and_on_track(store, take):
    take(screened("2024-10-20", 9))  # 10 days after reaching 9 months
    assert cell(store, "dspm.9.target", "2024-10") == 1
    assert cell(store, "dspm.9.screened_in_time", "2024-10") == 1
    assert cell(store, "dspm.9.on_track", "2024-10") == 1
    assert cell(store, "dspm.9.suspected", "2024-10") == 0
    assert cell(store, "dspm.18.target", "2025-07") == 1  # every key age counts the child once


def test_dspm_screen_later_than_30_days_is_screened_but_not_in_time(store, take):
    take(screened("2024-11-20", 9))  # 41 days after
    assert cell(store, "dspm.9.screened", "2024-10") == 1
    assert cell(store, "dspm.9.screened_in_time", "2024-10") == 0


def test_dspm_suspected_then_passing_the_rescreen_within_30_days_is_on_track(store, take):
    take(screened("2024-10-15", 9, {"fine_motor": "suspected_delay"}),
         screened("2024-11-10", 9, rescreen=True))
    assert cell(store, "dspm.9.suspected", "2024-10") == 1
    assert cell(store, "dspm.9.followed_in_time", "2024-10") == 1
    assert cell(store, "dspm.9.normal_after_stimulation", "2024-10") == 1
    assert cell(store, "dspm.9.on_track", "2024-10") == 1


def test_dspm_rescreen_after_30_days_or_failed_is_not_on_track_and_teda4i_counts(store, take):
    take(screened("2024-10-15", 9, {"fine_motor": "suspected_delay"}, local_id="late"),
         screened("2024-11-30", 9, rescreen=True, local_id="late"),
         screened("2024-10-15", 9, {"gross_motor": "suspected_delay"}, local_id="failed", national_id="1234567890121"),
         screened("2024-11-05", 9, {"gross_motor": "suspected_delay"}, rescreen=True, local_id="failed",
                  national_id="1234567890121"),
         child_event("child.therapy_planned", "2024-11-20", {"therapy": "teda4i_stimulation"}, local_id="H9",
                     department="medical", facility={"code": "H01", "district_code": "1001"},
                     national_id="1234567890121"))
    assert cell(store, "dspm.9.suspected", "2024-10") == 2
    assert cell(store, "dspm.9.followed_in_time", "2024-10") == 1
    assert cell(store, "dspm.9.on_track", "2024-10") == 0
    assert cell(store, "dspm.9.delayed", "2024-10") == 2
    assert cell(store, "dspm.9.teda4i", "2024-10") == 1  # the hospital's record joins by national ID


def test_a_retraction_and_a_correction_move_the_cells_back(store, take):
    first = screened("2024-10-15", 9, {"fine_motor": "suspected_delay"})
    take(first)
    assert cell(store, "dspm.9.suspected", "2024-10") == 1
    take(screened("2024-10-15", 9, supersedes=first["event_id"]))  # corrected: it was normal
    assert cell(store, "dspm.9.suspected", "2024-10") == 0
    assert cell(store, "dspm.9.on_track", "2024-10") == 1
    take(child_event("event.retracted", "2024-10-16", {"reason": "entered_in_error"}, supersedes=first["event_id"]))
    assert cell(store, "dspm.9.screened", "2024-10") == 1  # the correction stands


def test_a_duplicate_changes_nothing(store, take):
    event = screened("2024-10-20", 9)
    take(event, event)
    assert cell(store, "dspm.9.screened", "2024-10") == 1
    assert cell(store, "dspm.9.target", "2024-10") == 1


def test_a_record_whose_national_id_arrives_late_is_one_child(store, take):
    take(screened("2024-10-20", 9))
    take(child_event("child.growth_measured", "2024-10-20", {"weight_kg": 8.5, "height_cm": 71.0},
                     national_id="1234567890121"))
    assert cell(store, "dspm.9.target", "2024-10") == 1
    assert cell(store, "children.born", "2024-01") == 1


def immunised(on, vaccine, dose, **kwargs):
    return child_event("child.immunised", on, {"vaccine": vaccine, "dose": dose}, **kwargs)


def test_fully_immunised_at_one_needs_every_dose_by_the_first_birthday(store, take):
    full = [("BCG", 1, "2024-01-10"), ("HBV", 1, "2024-01-10"), ("DTwP-HB-Hib", 1, "2024-03-10"),
            ("DTwP-HB-Hib", 2, "2024-05-10"), ("DTwP-HB-Hib", 3, "2024-07-10"), ("OPV", 1, "2024-03-10"),
            ("OPV", 2, "2024-05-10"), ("OPV", 3, "2024-07-10"), ("IPV", 1, "2024-05-10"), ("MMR", 1, "2024-10-10")]
    take(*[immunised(on, v, d, local_id="full") for v, d, on in full])
    late_mmr = [(v, d, on if v != "MMR" else "2025-02-01") for v, d, on in full]
    take(*[immunised(on, v, d, local_id="late") for v, d, on in late_mmr])
    assert cell(store, "epi.age1.target", "2025-01") == 2
    assert cell(store, "epi.age1.full", "2025-01") == 1


def test_growth_bands_from_the_month_latest_measurement(store, take):
    # 9-month-old girl: 6.0 kg is below -2 SD weight-for-age (WHO: -2 SD at 9 months is about 6.6 kg)
    take(child_event("child.growth_measured", "2024-10-05", {"weight_kg": 8.2, "height_cm": 70.0}),
         child_event("child.growth_measured", "2024-10-25", {"weight_kg": 6.0, "height_cm": 70.0}))
    assert cell(store, "growth.measured", "2024-10") == 1
    assert cell(store, "growth.underweight", "2024-10") == 1
    assert cell(store, "growth.z_wfa.known", "2024-10") == 1


def test_centres_and_their_children(store, take):
    take(centre_event("centre.registered", "2024-01-05", {"name": "ศูนย์ ก", "capacity": 40}),
         centre_event("centre.assessed", "2024-06-05", {"standard_score": 80, "level": "good"}),
         centre_event("centre.registered", "2024-01-05", {"name": "ศูนย์ ข", "capacity": 30}, centre_id="C02"),
         centre_event("centre.assessed", "2024-06-05", {"standard_score": 40, "level": "basic"}, centre_id="C02"))
    district = {"district": "1002"}
    assert cell(store, "centres.registered", "*", scope_id=district["district"]) == 2
    assert cell(store, "centres.seats", "*", scope_id="1002") == 70
    assert cell(store, "centres.good_or_above", "*", scope_id="1002") == 1
    assert members(store, "1002", "centre") == ["C01", "C02"]
    take(child_event("child.enrolled", "2024-09-01", {"centre_id": "C01", "enrolled_on": "2024-09-01"},
                     department="social", facility={"code": "C01", "district_code": "1002"},
                     national_id="1234567890121", birth_date="2021-01-10"),
         screened("2024-07-20", 42, national_id="1234567890121", birth_date="2021-01-10", local_id="Z"))
    assert cell(store, "centre.children", "*", scope="centre", scope_id="C01") == 1
    assert cell(store, "centre.children_on_track", "*", scope="centre", scope_id="C01") == 1


def test_referrals_raised_closed_and_median_days(store, take):
    take(referral_event("requested", "2024-03-01"), referral_event("accepted", "2024-03-02"),
         referral_event("completed", "2024-03-11", outcome="treated"),
         referral_event("requested", "2024-03-05", referral_id="R2"),
         referral_event("expired", "2024-03-20", referral_id="R2"))
    assert cell(store, "referrals.raised", "2024-03") == 2
    assert cell(store, "referrals.closed", "2024-03") == 1
    assert cell(store, "referrals.expired", "2024-03") == 1
    page = scope_page(store, "district", "1001", "2024-03")
    assert page["median_days_to_close"] == 10


def test_small_cells_are_hidden_and_targets_compared(store, take):
    for n in range(6):
        take(screened("2024-10-20", 9, local_id=f"c{n}"))
    take(screened("2024-10-20", 9, {"fine_motor": "suspected_delay"}, local_id="s1"))
    view = overview(store, "dspm_on_track_9", "2024-10")
    assert view["districts"]["1001"]["value"] == round(100 * 6 / 7, 1)
    assert view["districts"]["1001"]["meets"] is True  # 85.7 >= 85
    suspected = overview(store, "dspm_suspected_9", "2024-10")["districts"]["1001"]
    assert suspected["suppressed"] is True and suspected["value"] is None  # 1 child: "<5"


def test_an_unknown_indicator_or_month_is_refused_naming_the_field(store):
    with pytest.raises(Refused) as refused:
        overview(store, "nope", "2024-10")
    assert refused.value.error["field"] == "indicator"
    with pytest.raises(Refused) as refused:
        overview(store, "dspm_on_track_9", "2024-13")
    assert refused.value.error["field"] == "month"


def test_rebuild_gives_the_same_cells(store, take):
    take(screened("2024-10-15", 9, {"fine_motor": "suspected_delay"}), screened("2024-11-10", 9, rescreen=True),
         referral_event("requested", "2024-03-01"))
    before = sorted((r["scope"], r["scope_id"], r["month"], r["counter"], r["value"])
                    for scope in ("city", "district", "facility") for r in store.cells(scope))
    Aggregator(store, zscores).rebuild()
    after = sorted((r["scope"], r["scope_id"], r["month"], r["counter"], r["value"])
                   for scope in ("city", "district", "facility") for r in store.cells(scope))
    assert after == before and before


def test_a_batch_rolled_back_and_taken_again_counts_once(store):
    aggregator = Aggregator(store, zscores)
    first, second = screened("2024-10-20", 9, local_id="R1"), screened("2024-10-20", 9, local_id="R2")
    with pytest.raises(RuntimeError), store.batch():
        aggregator.take(first)
        raise RuntimeError("the batch fails before its flush")
    aggregator.discard()  # as the service does when a batch fails: it is redelivered, one event at a time
    for event in (first, second):
        with store.batch():
            aggregator.take(event)
            aggregator.flush()
    assert cell(store, "dspm.9.target", "2024-10") == 2
