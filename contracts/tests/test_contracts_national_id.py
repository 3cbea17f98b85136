import pytest
from childlink_contracts import is_valid_national_id, with_check_digit
from childlink_contracts.national_id import check_digit
from hypothesis import given
from hypothesis import strategies as st

twelve_digits = st.text(alphabet="0123456789", min_size=12, max_size=12)


def test_known_valid_id():
    assert is_valid_national_id("1234567890121")


def test_wrong_check_digit():
    assert not is_valid_national_id("1234567890122")


@pytest.mark.parametrize("value", ["123456789012", "12345678901211", "", "1"])
def test_wrong_length(value):
    assert not is_valid_national_id(value)


@pytest.mark.parametrize("value", [
    "12345678901a1", "1234-56789012", " 1234567890121", "1234567890121 ", "๑๒๓๔๕๖๗๘๙๐๑๒๑",
])
def test_non_digits(value):
    assert not is_valid_national_id(value)


def test_trailing_newline_is_not_valid():
    # `^[0-9]{13}$` with re.match let "…121\n" through; the check now needs the whole string.
    assert not is_valid_national_id("1234567890121\n")


@pytest.mark.parametrize("value", [None, 1234567890121, b"1234567890121"])
def test_not_a_string(value):
    assert not is_valid_national_id(value)


def test_with_check_digit_round_trip():
    assert with_check_digit("123456789012") == "1234567890121"
    assert is_valid_national_id(with_check_digit("110170012345"))


@pytest.mark.parametrize("value", ["12345678901", "1234567890123", "12345678901a", "123456789012\n"])
def test_with_check_digit_needs_twelve_digits(value):
    with pytest.raises(ValueError):
        with_check_digit(value)


def test_check_digit_wraps_ten_and_eleven_to_single_digits():
    # total % 11 == 0 gives 11 % 10 == 1, total % 11 == 1 gives 10 % 10 == 0
    assert check_digit("000000000000") == 1
    assert check_digit("100000000000") == (11 - 13 % 11) % 10


@given(twelve_digits)
def test_with_check_digit_always_valid(first_twelve):
    national_id = with_check_digit(first_twelve)
    assert len(national_id) == 13
    assert national_id[:12] == first_twelve
    assert is_valid_national_id(national_id)


@given(twelve_digits, st.integers(min_value=1, max_value=9))
def test_changing_the_last_digit_breaks_it(first_twelve, shift):
    national_id = with_check_digit(first_twelve)
    flipped = national_id[:12] + str((int(national_id[12]) + shift) % 10)
    assert not is_valid_national_id(flipped)
