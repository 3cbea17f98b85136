"""A child's life at the public health centre: registration, well-child visits, vaccines, growth, DSPM.

Visits follow `schedule.VISITS`. Some are missed (reported as `child.visit_missed`) and about half of
those caught up a few weeks later; a few children stop coming altogether. DSPM screening finds most
children normal; a suspected delay is re-screened after a month of stimulation at home, and a delay
that persists is referred to the city hospital, where a little over half of the referred children go.
"""

from dataclasses import dataclass, field

from childlink_contracts.health import DSPM_DOMAINS

from .schedule import BIRTH_DOSES, HEAD_CV, HEIGHT_CV, VISITS, WEIGHT_CV, growth_median
from .timing import DAY, MINUTE, add_months, age_months, at

TRANSIENT_SUSPECTED_SHARE = 0.08  # a typical child flagged in one domain at one screening
SEVERE_AT_FIRST_SHARE = 0.3  # a lasting delay already 'delayed' when first seen
RESCREEN_ATTENDED_SHARE = 0.8
TRANSIENT_STAYS_SHARE = 0.1  # a suspected delay still there at the re-screen although it would pass
GOES_TO_HOSPITAL_SHARE = 0.55
IMPROVES_AFTER_THERAPY_SHARE = 0.35  # per later screening
CATCH_UP_SHARE = 0.5


@dataclass
class Referral:
    """A child the health centre sent on for assessment: when, for which domains, whether the delay lasts."""

    on: object  # datetime of the screening that found the delay
    domains: tuple
    lasting: bool
    attends: bool


@dataclass
class _Progress:
    flagged: bool = False
    improved: bool = False
    referrals: list = field(default_factory=list)


def health_history(child, recorder):
    """Record the child's health-centre events; return the referrals made for hospital assessment."""
    rng, now, centre = recorder.rng, recorder.now, child.health_centre
    registered_at = min(at(child.registered_on, rng), now - rng.randrange(1, 60) * MINUTE)
    recorder.add("health", "child.registered", centre, registered_at,
                 {"birth_weight_g": child.birth_weight_g, "gestational_weeks": child.gestational_weeks})
    if (child.registered_on - child.birth_date).days <= 60:  # birth doses, copied in from the pink book
        given_at = at(child.birth_date, rng, 0.5, 23.5)
        for vaccine, dose in BIRTH_DOSES:
            recorder.add("health", "child.immunised", centre, given_at, _dose(vaccine, dose, given_at, rng),
                         recorded_at=registered_at + rng.randrange(5, 40) * MINUTE)
    progress = _Progress()
    for number, visit in enumerate(VISITS):
        due = add_months(child.birth_date, visit.age_months)
        if due > now.date():
            break
        if due < child.registered_on - 45 * DAY:
            continue  # long before the child was known here
        stopped = child.stops_visits_at_months is not None and visit.age_months >= child.stops_visits_at_months
        if due >= child.registered_on and (stopped or rng.random() < child.miss_rate):
            recorder.add("health", "child.visit_missed", centre, at(due + 30 * DAY, rng),
                         {"visit_kind": visit.kind, "due_on": due.isoformat()})
            next_due = add_months(child.birth_date, VISITS[number + 1].age_months) if number + 1 < len(VISITS) \
                else due + 365 * DAY
            catch_up = due + rng.randrange(35, 70) * DAY
            if stopped or rng.random() >= CATCH_UP_SHARE or catch_up >= next_due:
                continue
            day = catch_up
        else:
            day = max(due + int(rng.triangular(0, 21, 2)) * DAY, child.registered_on)
        _visit(child, recorder, visit, at(day, rng), progress)
    return progress.referrals


def _visit(child, recorder, visit, moment, progress):
    rng, centre = recorder.rng, child.health_centre
    recorder.add("health", "child.growth_measured", centre, moment, _measure(child, moment.date(), rng))
    for n, (vaccine, dose) in enumerate(visit.vaccines, 1):
        given_at = moment + 4 * n * MINUTE
        recorder.add("health", "child.immunised", centre, given_at, _dose(vaccine, dose, given_at, rng))
    if visit.dspm:
        _screen(child, recorder, visit.age_months, moment + 30 * MINUTE, progress)


def _dose(vaccine, dose, moment, rng):
    return {"vaccine": vaccine, "dose": dose,
            "lot_number": f"{vaccine.split('-')[0][:4]}{moment:%y}{rng.randrange(1000, 9999)}"}


def _measure(child, day, rng):
    months = age_months(child.birth_date, day)
    weight, height, head = growth_median(child.sex, months)
    z_weight, z_height = child.growth_z
    measured = {
        "weight_kg": round(max(0.5, weight * (1 + WEIGHT_CV * (z_weight + rng.gauss(0, 0.25)))), 1),
        "height_cm": round(max(35.0, height * (1 + HEIGHT_CV * (z_height + rng.gauss(0, 0.15)))), 1),
        "measured_lying": months < 24,
    }
    if months < 24:
        measured["head_circumference_cm"] = round(head * (1 + HEAD_CV * rng.gauss(0, 1)), 1)
    return measured


def _screen(child, recorder, band, moment, progress):
    rng, development = recorder.rng, child.development
    results = dict.fromkeys(DSPM_DOMAINS, "normal")
    lasting = development.pattern is not None and band >= development.onset_band and not progress.improved
    if lasting:
        severe = progress.flagged or rng.random() < SEVERE_AT_FIRST_SHARE
        results.update(dict.fromkeys(development.domains, "delayed" if severe else "suspected_delay"))
        progress.flagged = True
    elif rng.random() < TRANSIENT_SUSPECTED_SHARE:
        results[rng.choice(DSPM_DOMAINS)] = "suspected_delay"
    recorder.add("health", "child.screened", child.health_centre, moment,
                 {"age_band_months": band, "rescreen": False, "domains": results})
    if "suspected_delay" in results.values():
        moment, results = _rescreen(child, recorder, band, moment, results, lasting)
    delayed = tuple(domain for domain, result in results.items() if result == "delayed")
    if delayed and moment is not None and not any(referral.attends for referral in progress.referrals):
        attends = rng.random() < GOES_TO_HOSPITAL_SHARE
        progress.referrals.append(Referral(moment, delayed, lasting, attends))
        child.outcomes.setdefault("referred_on", moment.date())
    elif lasting and any(referral.attends for referral in progress.referrals):
        progress.improved = rng.random() < IMPROVES_AFTER_THERAPY_SHARE


def _rescreen(child, recorder, band, moment, first, lasting):
    """A month of stimulation at home, then the flagged domains again: (when, results), or (None, {})."""
    rng, centre = recorder.rng, child.health_centre
    due = moment.date() + 30 * DAY
    if rng.random() >= RESCREEN_ATTENDED_SHARE:
        recorder.add("health", "child.visit_missed", centre, at(due + 14 * DAY, rng),
                     {"visit_kind": "dspm_rescreen", "due_on": due.isoformat()})
        return None, {}
    results = {}
    for domain, result in first.items():
        stays = result != "normal" and (lasting or rng.random() < TRANSIENT_STAYS_SHARE)
        results[domain] = "delayed" if stays else "normal"
    again = at(due + rng.randrange(-2, 10) * DAY, rng)
    recorder.add("health", "child.screened", centre, again,
                 {"age_band_months": band, "rescreen": True, "domains": results})
    return again, results
