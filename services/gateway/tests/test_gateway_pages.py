"""What the pages make of the referral service's answers: filters, DSPM grid, immunisations, timeline lines."""

from childlink_gateway.fake_referral import sample_child
from childlink_gateway.pages import (
    OPEN_STATUSES,
    dspm_grid,
    immunisation_rows,
    inbox_query,
    mask_national_id,
    page_count,
    timeline_summary,
)


def test_the_inbox_shows_open_referrals_unless_asked_otherwise():
    assert inbox_query({}).filters() == {"status": list(OPEN_STATUSES)}
    assert inbox_query({"status": "all"}).filters() == {}
    assert inbox_query({"status": "completed"}).filters() == {"status": ["completed"]}


def test_inbox_filters_pass_on_only_what_is_valid_and_name_the_rest():
    query = inbox_query({"status": "open", "reason": "dspm_delayed", "facility": "HC-1001-01", "district": "1001",
                         "department": "medical", "overdue": "1", "page": "3"})
    assert query.filters() == {"status": list(OPEN_STATUSES), "reason": "dspm_delayed", "facility": "HC-1001-01",
                               "district": "1001", "department": "medical", "overdue": True}
    assert query.page == 3 and query.ignored == []
    bad = inbox_query({"status": "nope", "reason": "DROP TABLE", "facility": "<x>", "district": "10",
                       "department": "police", "page": "x"})
    assert bad.filters() == {"status": list(OPEN_STATUSES)}
    assert bad.ignored == ["status", "reason", "facility", "district", "department", "page"]
    assert inbox_query({"page": "-4"}).page == 1


def test_the_query_string_keeps_the_filters_for_paging():
    query = inbox_query({"status": "all", "district": "1001", "overdue": "on"})
    assert query.query_string(2) == "status=all&district=1001&overdue=1&page=2"
    assert page_count(0) == 1 and page_count(25) == 1 and page_count(26) == 2


def test_dspm_grid_puts_domains_down_and_screenings_across():
    grid = dspm_grid({"screenings": [
        {"occurred_at": "2025-10-20T02:00:00Z", "age_band_months": 18, "rescreen": True,
         "domains": {"gross_motor": "normal", "receptive_language": "suspected_delay"}},
        {"occurred_at": "2025-09-20T02:00:00Z", "age_band_months": 18, "rescreen": False,
         "domains": {"gross_motor": "normal", "receptive_language": "delayed"}},
    ]})
    assert [c["when"][:10] for c in grid.columns] == ["2025-09-20", "2025-10-20"]
    assert [c["rescreen"] for c in grid.columns] == [False, True]
    rows = dict(grid.rows)
    assert list(rows)[:5] == ["gross_motor", "fine_motor", "receptive_language", "expressive_language",
                              "personal_social"]
    assert rows["receptive_language"] == ["delayed", "suspected_delay"]
    assert rows["fine_motor"] == [None, None]


def test_dspm_grid_also_reads_results_by_domain():
    grid = dspm_grid({"by_domain": {}, "domains": {"gross_motor": [
        {"occurred_at": "2025-09-20T02:00:00Z", "age_band_months": 18, "result": "delayed"}]}})
    assert dict(grid.rows)["gross_motor"] == ["delayed"]
    assert not dspm_grid(None) and not dspm_grid([])


def test_immunisations_from_the_documented_shape():
    rows = immunisation_rows(sample_child()["immunisations"])
    assert [(r.vaccine, r.dose, r.status) for r in rows] == [("BCG", 1, "given"), ("OPV", 1, "given"),
                                                             ("MMR", 1, "overdue"), ("JE", 2, "upcoming")]
    assert rows[0].given_on == "2024-03-16" and rows[2].due == "2024-12-15"


def test_immunisations_given_outside_the_schedule_still_show_and_status_is_inferred():
    rows = immunisation_rows({"schedule": [{"vaccine": "MMR", "dose": 1, "due_age_months": 9}],
                              "given": [{"vaccine": "MMR", "dose": 1, "given_on": "2025-01-02"},
                                        {"vaccine": "ROTA", "dose": 1, "given_on": "2024-06-01"}],
                              "overdue": []})
    assert [(r.vaccine, r.status, r.given_on) for r in rows] == [("MMR", "given", "2025-01-02"),
                                                                 ("ROTA", "given", "2024-06-01")]
    assert immunisation_rows(None) == []


def test_timeline_lines_carry_facts_not_names():
    child = sample_child()
    lines = {e["type"]: timeline_summary(e) for e in child["timeline"]}
    assert lines["child.growth_measured"] == [("fact.weight_kg", 8.1), ("fact.height_cm", 72.0)]
    assert lines["child.screened"] == [("fact.age_band_months", 18), ("fact.dspm_worst", ("result", "delayed"))]
    assert lines["child.diagnosed"] == [("fact.icd10", "F80.1")]
    referral_entry = {"type": "referral.completed", "payload": {"reason": "dspm_delayed", "outcome": "treated"}}
    assert timeline_summary(referral_entry) == [("fact.reason", ("reason", "dspm_delayed")),
                                                ("fact.outcome", ("outcome", "treated"))]
    assert timeline_summary({"type": "child.registered"}) == []


def test_national_ids_are_masked_to_the_last_three_digits():
    assert mask_national_id("1234567890121") == "x-xxxx-xxxxx-12-1"
    assert mask_national_id("1-2345-67890-12-1") == "x-xxxx-xxxxx-12-1"
    assert mask_national_id(None) == "" and mask_national_id("123") == ""
