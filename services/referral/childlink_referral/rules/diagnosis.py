"""A hospital diagnosis ICD-10 F70-F89 (intellectual disability, disorders of psychological development)
-> a notice to the child's centre or school for special-needs support. None while the child is not
enrolled: the notice is raised when the enrolment arrives. One notice per 3-character code and place.
"""

import re

from .proposal import Proposal, day, source_of

F70_F89 = re.compile(r"^F([78][0-9])")


def in_f70_f89(icd10):
    return bool(F70_F89.match(icd10 or ""))


def special_needs(state, now):
    placement = state.placement
    if placement is None:
        return []
    by_code = {}
    for fact in state.of("medical", "child.diagnosed"):
        if in_f70_f89(fact.payload.get("icd10")):
            by_code.setdefault(fact.payload["icd10"][:3], []).append(fact)
    proposals = []
    for code, facts in sorted(by_code.items()):
        first = facts[0]
        to = placement.as_target("special_needs_support")
        codes = ", ".join(sorted({f.payload["icd10"] for f in facts}))
        proposals.append(Proposal("diagnosis_f70_f89", "special_needs", f"{code}@{to['facility']}",
                                  tuple(f.event_id for f in facts), ("medical",), source_of(first), to,
                                  f"hospital diagnosis {codes} ({day(first)}): plan special-needs support",
                                  details={"kind": "special_needs", "icd10": codes, "diagnosed_on": day(first)}))
    return proposals
