"""The Thai immunisation schedule (EPI, simplified as in the project's domain reference), as data.

Each slot: the age its doses are due at, the age its window closes at (months), and the doses
(vaccine as the health contracts name it, dose number). A dose not recorded by the end of its window
plus GRACE_DAYS is overdue. ALIASES name other records that count as a dose (the boosters are sometimes
recorded under the combined vaccine's name).
"""

GRACE_DAYS = 30

THAI_EPI = (
    {"slot": "birth", "due_months": 0, "window_end_months": 0, "doses": (("BCG", 1), ("HBV", 1))},
    {"slot": "1m", "due_months": 1, "window_end_months": 1, "doses": (("HBV", 2),)},
    {"slot": "2m", "due_months": 2, "window_end_months": 2,
     "doses": (("DTwP-HB-Hib", 1), ("OPV", 1), ("ROTA", 1))},
    {"slot": "4m", "due_months": 4, "window_end_months": 4,
     "doses": (("DTwP-HB-Hib", 2), ("OPV", 2), ("IPV", 1), ("ROTA", 2))},
    {"slot": "6m", "due_months": 6, "window_end_months": 6,
     "doses": (("DTwP-HB-Hib", 3), ("OPV", 3), ("ROTA", 3))},
    {"slot": "9-12m", "due_months": 9, "window_end_months": 12, "doses": (("MMR", 1), ("JE", 1))},
    {"slot": "18m", "due_months": 18, "window_end_months": 18, "doses": (("DTwP", 4), ("OPV", 4), ("MMR", 2))},
    {"slot": "2-2.5y", "due_months": 24, "window_end_months": 30, "doses": (("JE", 2),)},
    {"slot": "4-6y", "due_months": 48, "window_end_months": 72, "doses": (("DTwP", 5), ("OPV", 5))},
)

ALIASES = {
    ("DTwP", 4): (("DTwP-HB-Hib", 4),),
    ("DTwP", 5): (("DTwP-HB-Hib", 5),),
}
