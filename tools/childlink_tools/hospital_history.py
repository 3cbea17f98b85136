"""What the city hospital records for a referred child: TEDA4I assessment, ICD-10 diagnosis, therapy plan."""

from .timing import DAY, MINUTE, at

# Lasting delay pattern -> the diagnosis a developmental paediatrician most often gives, and the therapies.
DIAGNOSES = {
    "expressive_language": ("F80.1", "Expressive language disorder"),
    "language": ("F80.2", "Receptive language disorder"),
    "motor": ("F82", "Specific developmental disorder of motor function"),
    "autism": ("F84.0", "Childhood autism"),
    "global": ("F88", "Other disorders of psychological development"),
}
THERAPIES = {
    "expressive_language": ("speech", "teda4i_stimulation"),
    "language": ("speech", "teda4i_stimulation"),
    "motor": ("physical", "occupational"),
    "autism": ("behavioural", "speech", "occupational"),
    "global": ("teda4i_stimulation", "occupational", "physical"),
}
DIAGNOSED_SHARE = 0.75
FOLLOW_UP_SHARE = 0.5


def hospital_history(child, recorder, referrals):
    """Record the hospital's events for the referrals the child went to; note the diagnosis on the child."""
    rng, hospital = recorder.rng, child.hospital
    for referral in referrals:
        if not referral.attends:
            continue
        seen = at(referral.on.date() + rng.randrange(21, 70) * DAY, rng)
        result = _assessment_result(rng, referral.lasting)
        if _assess(recorder, hospital, seen, result, referral.domains):
            child.outcomes["assessed_at_hospital"] = True
        if result == "inconclusive":
            seen = at(seen.date() + rng.randrange(45, 90) * DAY, rng)
            result = "delayed" if referral.lasting else "normal"
            _assess(recorder, hospital, seen, result, referral.domains)
        pattern = child.development.pattern
        if result != "delayed" or pattern is None:
            continue
        if rng.random() < DIAGNOSED_SHARE:
            icd10, description = DIAGNOSES[pattern]
            if pattern == "global" and rng.random() < 0.3:
                icd10, description = "F89", "Unspecified disorder of psychological development"
            if recorder.add("medical", "child.diagnosed", hospital, seen + 20 * MINUTE,
                            {"icd10": icd10, "description": description}):
                child.outcomes["diagnosis"] = icd10
        therapies = THERAPIES[pattern]
        for therapy in therapies[: rng.randint(1, len(therapies))]:
            recorder.add("medical", "child.therapy_planned", hospital, seen + 40 * MINUTE, {
                "therapy": therapy, "sessions": rng.choice((6, 8, 10, 12, 16, 20, 24)),
                "starts_on": (seen.date() + rng.randrange(7, 22) * DAY).isoformat(),
            })
        if rng.random() < FOLLOW_UP_SHARE:
            later = at(seen.date() + rng.randrange(90, 180) * DAY, rng)
            _assess(recorder, hospital, later, "delayed" if rng.random() < 0.7 else "normal", referral.domains)


def _assessment_result(rng, lasting):
    draw = rng.random()
    if lasting:
        return "delayed" if draw < 0.85 else "inconclusive" if draw < 0.95 else "normal"
    return "normal" if draw < 0.7 else "inconclusive" if draw < 0.9 else "delayed"


def _assess(recorder, hospital, moment, result, domains):
    return recorder.add("medical", "child.assessed", hospital, moment, {
        "tool": "TEDA4I", "result": result, "domains_delayed": list(domains) if result == "delayed" else [],
    })
