"""Three outcomes for a scored record: link to a known child, a new child, or a person to look at it.

Scores are posterior log2-odds (the candidate's Fellegi-Sunter weight plus the prior, see
`Matcher.prior`), so a threshold is a probability whatever the number of known children:
6 bits is 98.5%, -6 bits 1.5%.

- `link` when the best candidate scores at least `link_at` AND three guards hold:
  * the given names agree at least as a keying slip (`exact`, `variant`, `typo`). Fellegi-Sunter
    assumes fields are independent, and twins break that: same birth date, family name, guardian,
    phone and district, so a twin of a known child can out-score a true match whose guardian is
    missing. Only the given name tells twins apart, so a record whose given name is merely similar,
    phonetic, different, or in another script is never linked without a person;
  * no other known child scores within `margin` bits of the best (two children both plausible:
    twins both known, or look-alikes);
  * the two records do not carry two checksum-valid national IDs more than one digit apart.
  Otherwise a best score of at least `link_at` goes to review.
- `new` when there is no candidate or the best scores below `new_below`.
- `review` in between: the item keeps the score, both candidates and the field-by-field comparison.

The thresholds are chosen from labelled simulated data (`estimate.choose_thresholds`, numbers in
docs/identity-matching.md); see there for what they cost in review work.
"""

from dataclasses import dataclass

LINK, REVIEW, NEW = "link", "review", "new"
GIVEN_NAME_LINKABLE = frozenset({"exact", "variant", "typo"})


@dataclass(frozen=True)
class Thresholds:
    link_at: float  # bits: auto-link at or above (guards permitting)
    new_below: float  # bits: a new child below
    margin: float  # bits: the best must beat every other child by at least this to link


# Chosen on seed 1's labelled set (see estimate.choose_thresholds and docs/identity-matching.md).
THRESHOLDS = Thresholds(link_at=6.0, new_below=-6.0, margin=6.0)
# The share of scored incoming records whose child is already known: with the number of known children
# it gives the prior log-odds added to every candidate's weight (`Matcher.prior`).
KNOWN_SHARE = 0.5


def decide(best, runner_up, thresholds: Thresholds = THRESHOLDS):
    """(decision, reasons). `best` / `runner_up`: objects with `score`, `levels` (dict field -> level)
    and `national_id_conflict`; either may be None."""
    if best is None:
        return NEW, ("no known child shares a block",)
    if best.score < thresholds.new_below:
        return NEW, (f"best score {best.score:.1f} below {thresholds.new_below:g}",)
    if best.score < thresholds.link_at:
        return REVIEW, (f"score {best.score:.1f} between {thresholds.new_below:g} and {thresholds.link_at:g}",)
    reasons = []
    if best.levels["given_name"] not in GIVEN_NAME_LINKABLE:
        reasons.append(f"given names only {best.levels['given_name']}: a twin or sibling?")
    if runner_up is not None and best.score - runner_up.score < thresholds.margin:
        reasons.append(f"another child scores {runner_up.score:.1f}, within {thresholds.margin:g} of the best")
    if best.national_id_conflict:
        reasons.append("two different valid national IDs")
    if reasons:
        return REVIEW, tuple(reasons)
    return LINK, (f"score {best.score:.1f} at or above {thresholds.link_at:g}",)
