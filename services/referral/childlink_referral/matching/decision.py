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
  * the two records do not carry two checksum-valid national IDs more than one digit apart, and the
    incoming record's valid national ID, if any, is one of the candidate child's (when that child's
    records carry any): a merge refuses two children with different valid national IDs;
  * the birth dates agree at least as one of the matcher's slips (`exact` to `near`): two records
    whose birth dates are further apart are siblings far more often than one child keyed wrong.
  Otherwise a best score of at least `link_at` goes to review.
- `new` when there is no candidate or the best scores below `new_below`.
- `review` in between: the item keeps the score, both candidates and the field-by-field comparison.

The thresholds are chosen from labelled simulated data (`estimate.choose_thresholds`, numbers in
docs/identity-matching.md); see there for what they cost in review work.
"""

from dataclasses import dataclass

LINK, REVIEW, NEW = "link", "review", "new"
GIVEN_NAME_LINKABLE = frozenset({"exact", "variant", "typo"})
BIRTH_DATE_LINKABLE = frozenset({"exact", "swapped", "day", "days", "near", "missing"})


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


def reason(code, **params):
    """A reason as data: a code and its numbers, so a page words it in the viewer's language
    (the gateway's `identity.why.<code>` messages)."""
    return {"code": code, **{k: round(v, 1) if isinstance(v, float) else v for k, v in params.items()}}


def decide(best, runner_up, thresholds: Thresholds = THRESHOLDS):
    """(decision, reasons): each reason a dict with a `code` and its parameters (`reason`). `best` /
    `runner_up`: objects with `score`, `levels` (dict field -> level) and `national_id_conflict`; either
    may be None."""
    if best is None:
        return NEW, (reason("no_candidate"),)
    if best.score < thresholds.new_below:
        return NEW, (reason("below_new", score=best.score, threshold=thresholds.new_below),)
    if best.score < thresholds.link_at:
        return REVIEW, (reason("between_thresholds", score=best.score, low=thresholds.new_below,
                               high=thresholds.link_at),)
    reasons = []
    levels = best.levels
    if levels["given_name"] not in GIVEN_NAME_LINKABLE:
        reasons.append(reason("given_name_only", level=levels["given_name"]))
    if levels.get("birth_date", "missing") not in BIRTH_DATE_LINKABLE:
        reasons.append(reason("birth_dates_apart", level=levels["birth_date"]))
    if runner_up is not None and best.score - runner_up.score < thresholds.margin:
        reasons.append(reason("runner_up_close", score=runner_up.score, margin=thresholds.margin))
    if best.national_id_conflict:
        reasons.append(reason("two_national_ids"))
    if reasons:
        return REVIEW, tuple(reasons)
    return LINK, (reason("above_link", score=best.score, threshold=thresholds.link_at),)
