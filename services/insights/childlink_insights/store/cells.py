"""Cell keys as stored: one string per (scope, scope_id, month, counter), and back."""

import json


def encode_facts(facts):
    return json.dumps([[*key, value] for key, value in sorted(facts.items())], separators=(",", ":"))


def decode_facts(text):
    return {tuple(item[:4]): item[4] for item in json.loads(text)}
