"""How well the matcher does on labelled records: precision and recall of links, review share and more.

The protocol mirrors what the referral service sees. Of the labelled children, a share (`known_share`,
85%) is already known: each by its first registration, added to a `Matcher`. Every other record is
an incoming one, matched on its own against that index (the index does not grow while measuring, so
every probe is judged against the same known set):

- a probe with a checksum-valid national ID that a known record holds too is linked
  deterministically (what `identity.py` does) and left out of the scored figures;
- every other probe is scored. Its truth is "link to child X" when X is known, else "new" (the
  children held out, and so every record of a twin whose sibling alone is known).

Figures over the scored probes: precision of automatic links (right child / links made), recall
(right links / probes whose child is known), review share, review-band precision (reviews whose
suggested child is the right one / reviews), and how many known children's records were wrongly
called new (splits). `hide_national_ids=True` strips every national ID first: all probes scored.

The best and runner-up candidates are kept per probe, so `figures(result, thresholds)` can replay
the decision for other thresholds without re-scoring (what `estimate.choose_thresholds` does).
"""

import random
from dataclasses import dataclass, field

from .decision import LINK, NEW, REVIEW, THRESHOLDS, Thresholds, decide
from .linker import Matcher
from .normalise import prepare


@dataclass(frozen=True, slots=True)
class Labelled:
    record_id: str
    child_key: str
    subject: dict
    tags: tuple = ()  # e.g. ("twin",) for reporting


@dataclass(slots=True)
class Probe:
    record_id: str
    truth: str | None  # the known child it belongs to, or None: a new child
    best: object  # linker.Candidate | None
    runner_up: object
    tags: tuple


@dataclass
class Result:
    probes: list = field(default_factory=list)
    deterministic: int = 0
    known_children: int = 0


def from_identity_dataset(dataset):
    """Labelled records from `childlink_tools.identity_errors.IdentityDataset`."""
    twins = {person.twin_of for person in dataset.children if person.twin_of}
    twins |= {person.key for person in dataset.children if person.twin_of}
    lookalikes = {person.key for person in dataset.children if person.lookalike_of}
    return [Labelled(record.record_id, record.child_key, record.subject,
                     tuple(tag for tag, keys in (("twin", twins), ("lookalike", lookalikes))
                           if record.child_key in keys))
            for record in dataset.records]


def _without_national_ids(subject):
    subject = {k: v for k, v in subject.items() if k != "national_id"}
    if "guardian" in subject:
        subject["guardian"] = {k: v for k, v in subject["guardian"].items() if k != "national_id"}
    return subject


def run(labelled, known_share=0.85, seed=0, hide_national_ids=False, matcher=None):
    """Index the known children's first records, then score every other record against them."""
    by_child: dict[str, list[Labelled]] = {}
    for record in labelled:
        by_child.setdefault(record.child_key, []).append(record)
    rng = random.Random(f"{seed}/known")
    known = {key for key in sorted(by_child) if rng.random() < known_share}
    matcher = matcher or Matcher()
    national_ids = {}
    for key in sorted(known):
        first = by_child[key][0]
        prepared = matcher.add(first.subject, child_id=key, record_id=first.record_id)
        if prepared.national_id_valid:
            national_ids[prepared.national_id] = key
    result = Result(known_children=len(known))
    for record in labelled:
        if record.child_key in known and by_child[record.child_key][0] is record:
            continue
        subject = _without_national_ids(record.subject) if hide_national_ids else record.subject
        prepared = prepare(subject, record.record_id)
        if prepared.national_id_valid and prepared.national_id in national_ids:
            result.deterministic += 1
            continue
        ranked = matcher.candidates(prepared)
        result.probes.append(Probe(record.record_id, record.child_key if record.child_key in known else None,
                                   ranked[0] if ranked else None, ranked[1] if len(ranked) > 1 else None,
                                   record.tags))
    return result


def figures(result: Result, thresholds: Thresholds = THRESHOLDS):
    counts = {"scored": len(result.probes), "deterministic": result.deterministic, "known_children": result.known_children,
              "links": 0, "right_links": 0, "reviews": 0, "right_reviews": 0, "new": 0,
              "probes_of_known": 0, "probes_of_new": 0, "split": 0, "new_linked": 0, "new_reviewed": 0,
              "twin_probes": 0, "twin_links_wrong": 0, "twin_reviews": 0}
    for probe in result.probes:
        decision, _ = decide(probe.best, probe.runner_up, thresholds)
        suggested = probe.best.child_id if probe.best else None
        right = probe.truth is not None and suggested == probe.truth
        counts["probes_of_known" if probe.truth else "probes_of_new"] += 1
        if decision == LINK:
            counts["links"] += 1
            counts["right_links"] += right
            counts["new_linked"] += probe.truth is None
        elif decision == REVIEW:
            counts["reviews"] += 1
            counts["right_reviews"] += right
            counts["new_reviewed"] += probe.truth is None
        else:
            counts["new"] += 1
            counts["split"] += probe.truth is not None
        if "twin" in probe.tags:
            counts["twin_probes"] += 1
            counts["twin_links_wrong"] += decision == LINK and not right
            counts["twin_reviews"] += decision == REVIEW
    scored = counts["scored"] or 1
    counts["precision"] = counts["right_links"] / counts["links"] if counts["links"] else 1.0
    counts["recall"] = counts["right_links"] / counts["probes_of_known"] if counts["probes_of_known"] else 1.0
    counts["review_share"] = counts["reviews"] / scored
    counts["review_precision"] = counts["right_reviews"] / counts["reviews"] if counts["reviews"] else 1.0
    counts["split_share"] = counts["split"] / counts["probes_of_known"] if counts["probes_of_known"] else 0.0
    return counts


def wrong_links(result: Result, thresholds: Thresholds = THRESHOLDS):
    """The probes linked to the wrong child (or linked when new): for looking at what went wrong."""
    return [probe for probe in result.probes
            if decide(probe.best, probe.runner_up, thresholds)[0] == LINK and probe.best.child_id != probe.truth]


def missed(result: Result, thresholds: Thresholds = THRESHOLDS):
    """Probes of known children not linked to the right child automatically."""
    return [probe for probe in result.probes if probe.truth is not None and not (
        decide(probe.best, probe.runner_up, thresholds)[0] == LINK and probe.best.child_id == probe.truth)]


__all__ = ["LINK", "NEW", "REVIEW", "Labelled", "Probe", "Result", "figures", "from_identity_dataset", "missed",
           "run", "wrong_links"]
