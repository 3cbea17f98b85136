"""The 43-file standard's files that childlink reads, with their columns in the standard's order.

Source: the Ministry of Public Health's 43-file structure v2.4 (โครงสร้างมาตรฐานข้อมูลด้านสุขภาพ 43 แฟ้ม),
as summarised in docs/import-43.md. HOSxP and JHCIS write one pipe-delimited text file per topic, with a
header line naming the columns; a file without one is read in this order.
"""

LAYOUTS = {
    "PERSON": (
        "HOSPCODE", "CID", "PID", "HID", "PRENAME", "NAME", "LNAME", "HN", "SEX", "BIRTH", "MSTATUS",
        "OCCUPATION_OLD", "OCCUPATION_NEW", "RACE", "NATION", "RELIGION", "EDUCATION", "FSTATUS", "FATHER",
        "MOTHER", "COUPLE", "VSTATUS", "MOVEIN", "DISCHARGE", "DDISCHARGE", "ABOGROUP", "RHGROUP", "LABOR",
        "PASSPORT", "TYPEAREA", "D_UPDATE", "TELEPHONE", "MOBILE", "HOSPCODE9",
    ),
    "EPI": (
        "HOSPCODE", "PID", "SEQ", "DATE_SERV", "VACCINETYPE", "VACCINEPLACE", "PROVIDER", "D_UPDATE", "CID",
        "HOSPCODE9", "VACCINEPLACE9",
    ),
    "NUTRITION": (
        "HOSPCODE", "PID", "SEQ", "DATE_SERV", "NUTRITIONPLACE", "WEIGHT", "HEIGHT", "HEADCIRCUM", "CHILDDEVELOP",
        "FOOD", "BOTTLE", "PROVIDER", "D_UPDATE", "CID", "HOSPCODE9", "NUTRITIONPLACE9",
    ),
    "SPECIALPP": (
        "HOSPCODE", "PID", "SEQ", "DATE_SERV", "SERVPLACE", "PPSPECIAL", "PPSPLACE", "PROVIDER", "D_UPDATE", "CID",
        "HOSPCODE9", "PPSPLACE9",
    ),
}
# The columns childlink needs of each file: a header may leave out the rest (older exports stop before the
# v2.4 additions such as HOSPCODE9), and a file without a header may end its rows after the last of these.
REQUIRED = {
    "PERSON": ("HOSPCODE", "PID", "SEX", "BIRTH"),
    "EPI": ("HOSPCODE", "PID", "SEQ", "DATE_SERV", "VACCINETYPE"),
    "NUTRITION": ("HOSPCODE", "PID", "SEQ", "DATE_SERV", "WEIGHT", "HEIGHT"),
    "SPECIALPP": ("HOSPCODE", "PID", "SEQ", "DATE_SERV", "PPSPECIAL"),
}
# Read and counted, not turned into events: childlink's referrals are raised by its own rules from the
# screenings and assessments, and no contract event carries a 43-file referral (docs/import-43.md).
COUNTED_ONLY = ("REFER_HISTORY", "REFER_RESULT")
