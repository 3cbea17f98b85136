"""The Thai immunisation schedule (EPI) for children 0-6, as data: the one table the referral service's
reminders (childlink_referral.rules.immunisation) and the insights service's overdue count both read.

Source: กำหนดการให้วัคซีนตามแผนงานสร้างเสริมภูมิคุ้มกันโรคของกระทรวงสาธารณสุข ปี 2566, กองโรคติดต่อทั่วไป
กรมควบคุมโรค ("ความรู้เรื่องวัคซีนและกำหนดการให้วัคซีน ปี 2566",
https://ddc.moph.go.th/dcd/publishinfodetail.php?publish=13857&deptcode=dcd): BCG and HB1 at birth; HB2 at
1 month only for infants of HBsAg-positive mothers; DTwP-HB-Hib and OPV at 2, 4, 6 months, IPV at 4 months;
rotavirus (in the programme since FY2563) at 2 and 4 months (Rotarix) or 2, 4, 6 months (RotaTeq); MMR1 at
9 months; live attenuated JE (LAJE) at 1 year and 2.5 years; DTwP and OPV boosters with MMR2 at 1.5 years;
DTwP and OPV at 4 years. docs/reference.md lists the table and what could not be verified.

Each slot: the age its doses are due at and the age its window closes at (months), and the doses (vaccine
as the health contracts name it, dose number). A dose not recorded by the end of its window plus GRACE_DAYS
is overdue, and reminded until the dose's last age (REMINDER_UNTIL_MONTHS, or the rotavirus product's
maximum age). ALIASES name other records that count as a dose (the boosters are sometimes recorded under the
combined vaccine's name).
"""

GRACE_DAYS = 30
# Reminders stop at the end of early childhood (the DSPM manual's 5 years 11 months 29 days); later
# catch-up belongs to the school programme (grade 1), outside this service.
REMINDER_UNTIL_MONTHS = 72

THAI_EPI = (
    {"slot": "birth", "due_months": 0, "window_end_months": 0, "doses": (("BCG", 1), ("HBV", 1))},
    # only for infants of HBsAg-positive mothers (child.registered mother_hbsag_positive)
    {"slot": "1m", "due_months": 1, "window_end_months": 1, "doses": (("HBV", 2),),
     "only_if": "mother_hbsag_positive"},
    {"slot": "2m", "due_months": 2, "window_end_months": 2,
     "doses": (("DTwP-HB-Hib", 1), ("OPV", 1), ("ROTA", 1))},
    {"slot": "4m", "due_months": 4, "window_end_months": 4,
     "doses": (("DTwP-HB-Hib", 2), ("OPV", 2), ("IPV", 1), ("ROTA", 2))},
    {"slot": "6m", "due_months": 6, "window_end_months": 6,
     "doses": (("DTwP-HB-Hib", 3), ("OPV", 3), ("ROTA", 3))},
    {"slot": "9m", "due_months": 9, "window_end_months": 9, "doses": (("MMR", 1),)},
    {"slot": "12m", "due_months": 12, "window_end_months": 12, "doses": (("JE", 1),)},
    {"slot": "18m", "due_months": 18, "window_end_months": 18, "doses": (("DTwP", 4), ("OPV", 4), ("MMR", 2))},
    {"slot": "30m", "due_months": 30, "window_end_months": 30, "doses": (("JE", 2),)},
    {"slot": "4y", "due_months": 48, "window_end_months": 48, "doses": (("DTwP", 5), ("OPV", 5))},
)

# Rotavirus by product (the 43-file code says which: R1x Rotarix, R2x RotaTeq). Maximum ages from the
# products' labels as the programme's rotavirus guidance repeats them: dose 1 by 15 weeks; the last dose by
# 24 weeks (Rotarix) or 32 weeks (RotaTeq). Not verified against the DDC rotavirus manual's own text: see
# docs/reference.md. A child whose product is not known is held to 2 doses and the earlier limit, so no
# reminder asks for a dose the product may not allow.
ROTAVIRUS_FIRST_DOSE_MAX_DAYS = 15 * 7
ROTAVIRUS = {
    "rotarix": {"doses": 2, "last_dose_max_days": 24 * 7},
    "rotateq": {"doses": 3, "last_dose_max_days": 32 * 7},
    None: {"doses": 2, "last_dose_max_days": 24 * 7},
}

ALIASES = {
    ("DTwP", 4): (("DTwP-HB-Hib", 4),),
    ("DTwP", 5): (("DTwP-HB-Hib", 5),),
}
