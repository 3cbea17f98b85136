"""WHO z-scores for children 0-72 months: our own code over WHO's published LMS tables.

0-1856 days (to 61 months): WHO Child Growth Standards 2006 (`who2006`); from 61 to 72 completed
months: WHO Growth Reference 2007 (`who2007`), height-for-age, weight-for-age and BMI-for-age.
The rules and their sources are in each module and in docs/clinical-rules-growth.md; the tables'
source in data/SOURCES.md.
"""

from . import lms, who2006, who2007
from .who2006 import DAYS_PER_MONTH, MAX_AGE_DAYS

KEYS = who2006.KEYS  # z_wfa, z_lhfa, z_wflh, z_bmi, z_hcfa
MAX_MONTHS = 72  # completed months: the last age childlink follows
FLAGS = who2006.FLAGS


def reference_for(age_days):
    """'who2006', 'who2007' or None (no z-scores) for an age in days."""
    if age_days is None or age_days < 0:
        return None
    if who2006.whole_days(age_days) <= MAX_AGE_DAYS:
        return "who2006"
    if age_days / DAYS_PER_MONTH < MAX_MONTHS + 1:
        return "who2007"
    return None


def raw_zscores(sex, age_days, weight_kg=None, height_cm=None, measured_lying=None,
                head_circumference_cm=None, oedema=False):
    """{key: unrounded z or None} for every key in KEYS."""
    reference = reference_for(age_days)
    if reference == "who2006":
        return who2006.raw_zscores(sex, age_days, weight_kg, height_cm, measured_lying,
                                   head_circumference_cm, oedema)
    found = dict.fromkeys(KEYS)
    if reference == "who2007":
        found.update(who2007.raw_zscores(sex, age_days, weight_kg, height_cm, measured_lying, oedema))
    return found


def zscores(sex, age_days, weight_kg=None, height_cm=None, measured_lying=None,
            head_circumference_cm=None, oedema=False):
    """({key: z to 2 decimals or None}, {key: implausible}) as WHO reports them: the flags are taken
    on the rounded z-score, as WHO takes them."""
    raw = raw_zscores(sex, age_days, weight_kg, height_cm, measured_lying, head_circumference_cm, oedema)
    z = {key: None if value is None else lms.round_half_up(value) for key, value in raw.items()}
    return z, {key: who2006.flagged(key, value) for key, value in z.items()}
