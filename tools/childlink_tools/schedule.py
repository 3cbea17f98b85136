"""The Thai well-child schedule the simulated health centres follow: visits, EPI doses, DSPM, growth.

The EPI table is the simplified one in the project's domain reference; growth values are drawn around
the WHO Child Growth Standards medians (2006; the 2007 reference at 72 months).
"""

import itertools
from dataclasses import dataclass

from childlink_contracts.health import DSPM_AGES_MONTHS

# Age in months -> (vaccine, dose) given then. Birth doses are given at the birth hospital.
EPI = {
    0: [("BCG", 1), ("HBV", 1)],
    1: [("HBV", 2)],
    2: [("DTwP-HB-Hib", 1), ("OPV", 1), ("ROTA", 1)],
    4: [("DTwP-HB-Hib", 2), ("OPV", 2), ("IPV", 1), ("ROTA", 2)],
    6: [("DTwP-HB-Hib", 3), ("OPV", 3), ("ROTA", 3)],
    9: [("MMR", 1)],
    12: [("JE", 1)],
    18: [("DTwP", 4), ("OPV", 4), ("MMR", 2)],
    30: [("JE", 2)],
    48: [("DTwP", 5), ("OPV", 5)],
}

WELL_CHILD_AGES = (1, 2, 4, 6, 9, 12, 18, 24, 30, 36, 42, 48, 60, 72)


@dataclass(frozen=True)
class Visit:
    age_months: int
    vaccines: tuple
    dspm: bool

    @property
    def kind(self):
        """The `visit_kind` a missed visit is reported under."""
        if self.dspm:
            return "dspm_screening"
        return "immunisation" if self.vaccines else "well_child"


VISITS = tuple(Visit(age, tuple(EPI.get(age, ())), age in DSPM_AGES_MONTHS) for age in WELL_CHILD_AGES)
BIRTH_DOSES = tuple(EPI[0])

# WHO medians: age months -> (weight kg, length/height cm, head circumference cm), by sex.
GROWTH_MEDIANS = {
    "male": {
        0: (3.3, 49.9, 34.5), 1: (4.5, 54.7, 37.3), 2: (5.6, 58.4, 39.1), 4: (7.0, 63.9, 41.6),
        6: (7.9, 67.6, 43.3), 9: (8.9, 72.0, 45.0), 12: (9.6, 75.7, 46.1), 18: (10.9, 82.3, 47.4),
        24: (12.2, 87.1, 48.3), 30: (13.3, 91.9, 48.9), 36: (14.3, 96.1, 49.5), 42: (15.3, 99.9, 49.9),
        48: (16.3, 103.3, 50.2), 60: (18.3, 110.0, 50.7), 72: (20.5, 116.0, 51.1),
    },
    "female": {
        0: (3.2, 49.1, 33.9), 1: (4.2, 53.7, 36.5), 2: (5.1, 57.1, 38.3), 4: (6.4, 62.1, 40.6),
        6: (7.3, 65.7, 42.2), 9: (8.2, 70.1, 43.8), 12: (8.9, 74.0, 44.9), 18: (10.2, 80.7, 46.2),
        24: (11.5, 85.7, 47.2), 30: (12.7, 90.7, 47.9), 36: (13.9, 95.1, 48.5), 42: (15.0, 99.0, 48.9),
        48: (16.1, 102.7, 49.3), 60: (18.2, 109.4, 49.9), 72: (20.2, 115.1, 50.3),
    },
}
# Spread of one standard deviation, as a fraction of the median.
WEIGHT_CV, HEIGHT_CV, HEAD_CV = 0.12, 0.037, 0.03


def growth_median(sex, age_months):
    """(weight, height, head) medians at a fractional age, interpolated between the table's ages."""
    table = GROWTH_MEDIANS[sex]
    ages = sorted(table)
    age_months = min(max(age_months, ages[0]), ages[-1])
    for low, high in itertools.pairwise(ages):
        if low <= age_months <= high:
            share = (age_months - low) / (high - low)
            return tuple(a + (b - a) * share for a, b in zip(table[low], table[high]))
    return table[ages[-1]]
