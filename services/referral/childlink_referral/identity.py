"""Which child an event is about: deterministic links only (scored matching comes later).

A child is known by keys: `nid:<national id>` when the department knows a checksum-valid one, and
always `local:<department>:<facility>:<local id>`. The first key to claim a child wins, so two events
about a new child racing on two workers or two replicas still land on one child.
"""

import uuid

from childlink_contracts import is_valid_national_id


def keys_for(event):
    child = event["subject"]["child"]
    facility = event["source"]["facility"]["code"]
    keys = []
    national_id = child.get("national_id")
    if national_id and is_valid_national_id(national_id):
        keys.append(f"nid:{national_id}")
    keys.append(f"local:{event['source']['department']}:{facility}:{child['local_id']}")
    return keys


def resolve(store, event, new_child_id=lambda: str(uuid.uuid4())):
    """Return (child_id, conflicts): conflicts are keys already held by another child (merge candidates)."""
    keys = keys_for(event)
    known = store.children_for_keys(keys)
    child_id = next((known[key] for key in keys if key in known), None) or new_child_id()
    child_id = store.claim_key(keys[0], child_id)
    conflicts = []
    for key in keys[1:]:
        owner = store.claim_key(key, child_id)
        if owner != child_id:
            conflicts.append(key)
    return child_id, conflicts


def profile_of(event):
    """What the timeline keeps of a child's demographics, as the department last recorded them."""
    child = event["subject"]["child"]
    return {field: child[field] for field in
            ("national_id", "given_name", "family_name", "birth_date", "sex", "district_code")
            if child.get(field)}
