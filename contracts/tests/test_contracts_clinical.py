"""Clinical checks at ingest: the event's Bangkok day against the child's birth, the DSPM band against age,
and the 43-file vaccine codes beside the vaccine names."""

import datetime as dt

import pytest
from childlink_contracts import ContractError, validate_event
from childlink_contracts.clinical import completed_months, dspm_band_for

KEY = ("health", "child.screened", 1)


def errors_of(event, department="health"):
    with pytest.raises(ContractError) as caught:
        validate_event(event, department)
    return caught.value.errors


def screened(make_event, born, occurred_at, band, rescreen=False):
    event = make_event(KEY)
    event["subject"]["child"]["birth_date"] = born
    event["occurred_at"] = event["recorded_at"] = occurred_at
    event["payload"]["age_band_months"] = band
    event["payload"]["rescreen"] = rescreen
    return event


@pytest.mark.parametrize(("months", "band"), [
    (8, None), (9, 9), (17, 9), (18, 18), (29, 18), (30, 30), (41, 30), (42, 42), (59, 42), (60, 60), (71, 60),
    (72, None), (84, None)])
def test_the_band_is_the_latest_key_age_reached(months, band):
    born = dt.date(2020, 1, 15)
    on = dt.date(2020 + (months + 0) // 12, 1 + months % 12, 15)
    assert completed_months(born, on) == months
    assert dspm_band_for(born, on) == band


def test_a_9_month_screening_of_a_27_month_old_is_refused_naming_the_field(make_event):
    event = screened(make_event, "2022-03-10", "2024-06-15T09:30:00+07:00", 9)
    errors = errors_of(event)
    assert list(errors) == ["payload.age_band_months"]
    assert "27 months" in errors["payload.age_band_months"][0] and "18" in errors["payload.age_band_months"][0]
    assert validate_event(screened(make_event, "2022-03-10", "2024-06-15T09:30:00+07:00", 18), "health")


def test_a_60_month_screening_of_a_7_year_old_is_refused(make_event):
    event = screened(make_event, "2017-05-01", "2024-06-15T09:30:00+07:00", 60)
    [message] = errors_of(event)["payload.age_band_months"]
    assert "72 months" in message


def test_under_9_months_has_no_band(make_event):
    event = screened(make_event, "2024-01-01", "2024-06-15T09:30:00+07:00", 9)
    assert "payload.age_band_months" in errors_of(event)


def test_a_rescreen_keeps_the_first_screens_band_just_after_the_next_key_age(make_event):
    # first screen at 17 months with the 9-month form, re-screen a month later at 18 months 10 days
    assert validate_event(screened(make_event, "2022-12-05", "2024-06-15T09:30:00+07:00", 9, rescreen=True),
                          "health")
    # but not as a first screen, and not long after
    assert "payload.age_band_months" in errors_of(screened(make_event, "2022-12-05", "2024-06-15T09:30:00+07:00", 9))
    assert "payload.age_band_months" in errors_of(
        screened(make_event, "2022-09-25", "2024-06-15T09:30:00+07:00", 9, rescreen=True))


def test_the_age_is_taken_on_the_bangkok_day(make_event):
    # 00:30 in Bangkok on 10 June is still 9 June in UTC: the child turned 18 months on 10 June (Bangkok)
    event = screened(make_event, "2022-12-10", "2024-06-09T17:30:00Z", 18)
    assert validate_event(event, "health")["payload"]["age_band_months"] == 18


def test_occurred_before_birth_is_refused_naming_occurred_at(make_event):
    event = make_event(("health", "child.growth_measured", 1))
    event["subject"]["child"]["birth_date"] = "2024-06-16"
    assert list(errors_of(event)) == ["occurred_at"]
    # the day of birth itself, in Bangkok, is fine: 00:30 on 16 June Bangkok is 15 June in UTC
    event["occurred_at"] = event["recorded_at"] = "2024-06-15T17:30:00Z"
    assert validate_event(event, "health")


@pytest.mark.parametrize(("vaccine", "dose", "code"), [
    ("BCG", 1, "010"), ("HBV", 2, "042"), ("DTwP-HB-Hib", 3, "D23"), ("OPV", 5, "085"), ("DTwP", 4, "034"),
    ("IPV", 1, "401"), ("IPV", 1, "I11"), ("MMR", 1, "061"), ("MMR", 2, "073"), ("JE", 2, "J12"),
    ("JE", 3, "053"), ("ROTA", 2, "R12"), ("ROTA", 3, "R23")])
def test_43_file_vaccine_codes_are_accepted_beside_the_name(make_event, vaccine, dose, code):
    event = make_event(("health", "child.immunised", 1))
    event["payload"] = {"vaccine": vaccine, "dose": dose, "vaccine_code": code}
    assert validate_event(event, "health")["payload"]["vaccine_code"] == code


@pytest.mark.parametrize(("code", "why"), [(10, "Not a valid string"), ("10", "3-character"),
                                           ("R13", "unknown"), ("061", "MMR dose 1, not")])
def test_a_wrong_vaccine_code_is_refused_naming_the_field(make_event, code, why):
    event = make_event(("health", "child.immunised", 1))
    event["payload"] = {"vaccine": "MMR", "dose": 2, "vaccine_code": code}
    errors = errors_of(event)
    assert list(errors) == ["payload.vaccine_code"] and why in errors["payload.vaccine_code"][0]
