"""The Thai 43-file standard's vaccine codes (EPI.VACCINETYPE): 3-character strings, leading zeros kept.

Source: สนย. (MoPH ICT centre) 43-file structure v2.4, EPI.VACCINETYPE code list, with the FY2567 IPV codes
I11-I15 (see docs/reference.md). Each code names the vaccine as the health contracts do and the dose number;
rotavirus codes also name the product, which sets the number of doses (R1x Rotarix: 2; R2x RotaTeq: 3).
The JE codes: J11/J12 live attenuated JE (LAJE, the current schedule), 051-053 inactivated JE (older
schedule); both are recorded as the JE series.
"""

CODES = {
    "010": ("BCG", 1),
    "041": ("HBV", 1), "042": ("HBV", 2), "043": ("HBV", 3),
    "D21": ("DTwP-HB-Hib", 1), "D22": ("DTwP-HB-Hib", 2), "D23": ("DTwP-HB-Hib", 3),
    "081": ("OPV", 1), "082": ("OPV", 2), "083": ("OPV", 3), "084": ("OPV", 4), "085": ("OPV", 5),
    "031": ("DTwP", 1), "032": ("DTwP", 2), "033": ("DTwP", 3), "034": ("DTwP", 4), "035": ("DTwP", 5),
    "401": ("IPV", 1),
    "I11": ("IPV", 1), "I12": ("IPV", 2), "I13": ("IPV", 3), "I14": ("IPV", 4), "I15": ("IPV", 5),
    "061": ("MMR", 1), "073": ("MMR", 2),
    "J11": ("JE", 1), "J12": ("JE", 2),
    "051": ("JE", 1), "052": ("JE", 2), "053": ("JE", 3),
    "R11": ("ROTA", 1), "R12": ("ROTA", 2),
    "R21": ("ROTA", 1), "R22": ("ROTA", 2), "R23": ("ROTA", 3),
}
ROTAVIRUS_PRODUCTS = {"R1": "rotarix", "R2": "rotateq"}
ORAL_VACCINES = frozenset({"OPV", "ROTA"})  # doses counted "ครั้งที่", not "เข็มที่"


def rotavirus_product(code):
    """'rotarix' / 'rotateq' for a rotavirus code, else None."""
    return ROTAVIRUS_PRODUCTS.get((code or "")[:2]) if code in CODES else None
