"""The Thai national ID (เลขประจำตัวประชาชน): 13 digits, the last a mod-11 check digit."""

import re

_THIRTEEN_DIGITS = re.compile(r"^[0-9]{13}$")


def check_digit(first_twelve: str) -> int:
    total = sum(int(digit) * weight for digit, weight in zip(first_twelve, range(13, 1, -1)))
    return (11 - total % 11) % 10


def is_valid_national_id(value: str) -> bool:
    if not isinstance(value, str) or not _THIRTEEN_DIGITS.fullmatch(value):
        return False
    return check_digit(value[:12]) == int(value[12])


def with_check_digit(first_twelve: str) -> str:
    """Complete twelve digits into a valid national ID (the simulator and tests need real ones)."""
    if not re.fullmatch(r"[0-9]{12}", first_twelve):
        raise ValueError("need exactly twelve digits")
    return first_twelve + str(check_digit(first_twelve))
