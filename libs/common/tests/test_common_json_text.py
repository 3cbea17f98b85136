"""Stored JSON text reads back as the value written, whatever orjson takes or refuses."""

import json

import orjson
import pytest
from childlink_common.json_text import compact

VALUES = [
    {"given_name": "สมชาย", "emoji": "👶", "n": 0.00001, "big": 1e16, "neg": -0.0, "none": None, "list": [1, [2, {}]]},
    {"int_past_64_bits": 2 ** 70, "key": "value"},  # orjson refuses: json.dumps writes it
    {1: "a key that is not text"},                  # orjson refuses: json.dumps writes "1"
    {"stored_at": 1765123456.123456, "payload": {"weight_kg": 12.35, "domains": {"gm": "pass"}}},
    [],
    "text",
]


@pytest.mark.parametrize("value", VALUES)
def test_the_text_reads_back_as_the_value_json_would_read_back(value):
    text = compact(value)
    assert isinstance(text, str)
    assert json.loads(text) == json.loads(json.dumps(value))
    assert ", " not in text and ": " not in text  # compact (no value here holds either inside a string)


def test_non_ascii_is_kept_as_it_is_and_orjson_reads_it():
    text = compact({"name": "สมหญิง"})
    assert "สมหญิง" in text and orjson.loads(text) == {"name": "สมหญิง"}
