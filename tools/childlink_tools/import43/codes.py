"""The 43-file codes childlink reads: EPI.VACCINETYPE and SPECIALPP.PPSPECIAL (DSPM).

Sources: the 43-file structure v2.4 code lists (EPI.VACCINETYPE with the FY2567 IPV codes I11-I15;
the HDC DSPM codes 1B200-1B275), summarised in docs/import-43.md. The vaccine table is the one the health
contract keeps beside the names (childlink_contracts.vaccine_codes).
"""

from childlink_contracts.vaccine_codes import CODES

VACCINE_CODES = CODES  # the health contract's own table: one list of codes in the project

# 1B2 + domain digit + result digit: 1B200-1B249
DSPM_DOMAIN_DIGITS = {"0": "gross_motor", "1": "fine_motor", "2": "receptive_language",
                      "3": "expressive_language", "4": "personal_social"}
# 0-2 screening, 3-5 the same for surveillance, 6/7 DAIM normal/delayed; 8 and 9 (unspecified) say nothing
DSPM_RESULT_DIGITS = {"0": "normal", "1": "suspected_delay", "2": "delayed",
                      "3": "normal", "4": "suspected_delay", "5": "delayed",
                      "6": "normal", "7": "delayed"}
DSPM_OVERALL = {"1B260": "normal", "1B261": "suspected_delay", "1B262": "refer"}
TEDA4I_CODES = {"1B270", "1B271", "1B272", "1B273", "1B274", "1B275"}


class UnknownCode(ValueError):
    pass


def vaccine_of(code):
    """(vaccine, dose) for a VACCINETYPE code; UnknownCode for codes outside childlink's EPI."""
    if code not in VACCINE_CODES:
        if code.isdigit() and len(code) < 3:
            raise UnknownCode(f"{code!r} is not a 3-character code: the leading zeros were lost "
                              f"(write {code.zfill(3)!r})")
        raise UnknownCode(f"{code!r} is not a childlink EPI vaccine code (known: BCG 010, HBV 041-043, "
                          "DTP-HB-Hib D21-D23, OPV 081-085, DTP 031-035, IPV 401/I11-I15, MMR 061/073, "
                          "JE J11/J12/051-053, rotavirus R11/R12/R21-R23)")
    return VACCINE_CODES[code]


def dspm_code(code):
    """("domain", domain, result) | ("overall", result) | ("teda4i",) for a PPSPECIAL code; None when the
    code is not a DSPM code (SPECIALPP carries other promotion and prevention services too)."""
    code = code.upper()
    if code in DSPM_OVERALL:
        return ("overall", DSPM_OVERALL[code])
    if code in TEDA4I_CODES:
        return ("teda4i",)
    if len(code) == 5 and code.startswith("1B2") and code[3] in DSPM_DOMAIN_DIGITS:
        result = DSPM_RESULT_DIGITS.get(code[4])
        if result is None:
            raise UnknownCode(f"{code} gives no result for {DSPM_DOMAIN_DIGITS[code[3]]} "
                              "(last digit 8 or 9: unspecified)")
        return ("domain", DSPM_DOMAIN_DIGITS[code[3]], result)
    if code.startswith("1B2"):
        raise UnknownCode(f"{code} is not a DSPM code (1B200-1B249, 1B260-1B262, 1B270-1B275)")
    return None
