"""The child page: profile, consent, timeline, growth, DSPM, immunisations and referrals, for one viewer."""

from childlink_contracts.health import DSPM_DOMAINS

from . import growth, minimisation
from .access import FACILITY_ROLES, can_see_child, can_see_referral, check_viewer
from .events import timeline_entries
from .lifecycle import Refusal
from .linking import REVIEWER_ROLES
from .rules import build_state, dspm
from .rules.immunisation import schedule_for
from .times import bangkok_date, start_of_bangkok_day
from .workflow import present

DAYS_PER_MONTH = 30.4375


def viewer_department(viewer):
    return viewer.get("department") or FACILITY_ROLES.get(viewer["role"]) or (
        "social" if viewer["role"] == "social_worker" else None)


def consent_view(state, viewer):
    latest = {}
    for fact in state.of_type("consent.recorded"):
        if fact.payload.get("scope") == "share_outside_department":
            latest[fact.department] = fact
    refused_by = sorted(state.consent_refused)
    shared = not refused_by or viewer_department(viewer) in refused_by
    notice = None
    if refused_by:
        who = ", ".join(refused_by)
        notice = (f"The parent refused sharing the child's records outside {who} (consent recorded by {who}). "
                  + ("You see them as staff of that department." if shared else
                     "Only staff of that department see the child's records; you see your referrals only."))
    return {
        "shared": shared, "refused_by": refused_by, "notice": notice,
        "records": [{"department": d, "decision": f.payload.get("decision"), "occurred_at": f.occurred_at.isoformat(),
                     "event_id": f.event_id} for d, f in sorted(latest.items())],
    }


def growth_view(state):
    points = []
    for m in state.measurements:
        payload = m.fact.payload
        plotted_cm, plotted_as = growth.as_plotted(m.age_days, payload.get("height_cm"),
                                                   payload.get("measured_lying"))
        points.append({
            "event_id": m.fact.event_id, "occurred_at": m.fact.occurred_at.isoformat(),
            "facility_code": m.fact.facility, "age_days": m.age_days,
            "age_months": round(m.age_days / DAYS_PER_MONTH, 2) if m.age_days is not None else None,
            "weight_kg": payload.get("weight_kg"), "height_cm": payload.get("height_cm"),
            "head_circumference_cm": payload.get("head_circumference_cm"),
            "measured_lying": payload.get("measured_lying"),
            "plotted_cm": plotted_cm, "plotted_as": plotted_as,
            "rechecked": bool(payload.get("rechecked")),
            "z": {key: m.z.get(key) for key in growth.Z_KEYS},
            "implausible": {key: bool(m.implausible.get(key)) for key in growth.Z_KEYS},
            # a value WHO flags is banded "implausible", unless the sender re-checked it: then it is real
            "band": {key.removeprefix("z_"): growth.band(m.z.get(key), m.implausible.get(key)
                                                         and not payload.get("rechecked"))
                     for key in growth.Z_KEYS},
        })
    ages = [p["age_months"] for p in points if p["age_months"] is not None]
    bands = growth.reference_curves(state.sex, 0, max(ages) + 3) if ages else {}
    return {"birth_date": state.profile.get("birth_date"), "sex": state.sex, "points": points, "bands": bands,
            "z_bands": growth.Z_BANDS}


def dspm_view(state, now):
    screenings, by_domain = [], {domain: [] for domain in DSPM_DOMAINS}
    for fact in state.screenings:
        domains = fact.payload.get("domains", {})
        screenings.append({"event_id": fact.event_id, "occurred_at": fact.occurred_at.isoformat(),
                           "age_band_months": fact.payload.get("age_band_months"),
                           "rescreen": bool(fact.payload.get("rescreen")), "facility_code": fact.facility,
                           "domains": dict(domains)})
        for domain in DSPM_DOMAINS:
            by_domain[domain].append({"occurred_at": fact.occurred_at.isoformat(),
                                      "age_band_months": fact.payload.get("age_band_months"),
                                      "rescreen": bool(fact.payload.get("rescreen")), "result": domains.get(domain)})
    return {"domains": list(DSPM_DOMAINS), "screenings": screenings, "by_domain": by_domain,
            "episodes": dspm.outcomes(state, now)}


def immunisation_view(state, now):
    today = bangkok_date(now)
    schedule, overdue = [], []
    for dose in schedule_for(state):
        if dose.given is not None:
            status = "given"
        elif dose.too_late(now):
            status = "too_late"  # past the dose's last age (rotavirus): not to be given, not reminded
        elif start_of_bangkok_day(dose.overdue_from) <= now:
            status = "overdue"
        elif dose.due_on <= today:
            status = "due"
        else:
            status = "upcoming"
        row = {"slot": dose.slot, "vaccine": dose.vaccine, "dose": dose.dose, "due_age_months": dose.due_months,
               "due_on": dose.due_on.isoformat(), "overdue_from": dose.overdue_from.isoformat(), "status": status,
               "given_on": bangkok_date(dose.given.occurred_at).isoformat() if dose.given else None,
               "vaccine_code": dose.given.payload.get("vaccine_code") if dose.given else None,
               "remind_until": dose.remind_until.isoformat()}
        schedule.append(row)
        if status == "overdue":
            overdue.append({k: row[k] for k in ("vaccine", "dose", "slot", "due_on", "overdue_from")})
    given = [{"vaccine": vaccine, "dose": dose, "given_on": bangkok_date(fact.occurred_at).isoformat(),
              "vaccine_code": fact.payload.get("vaccine_code"), "event_id": fact.event_id,
              "facility_code": fact.facility}
             for (vaccine, dose), fact in sorted(state.doses_given.items(), key=lambda kv: (kv[1].occurred_at, kv[0]))]
    return {"schedule": schedule, "given": given, "overdue": overdue,
            "followed_by_health_centre": state.health_centre is not None}


def timeline(state, referrals):
    """Every department entry with its status, and every referral transition, by when it happened."""
    entries = list(state.entries) + [e for r in referrals for e in timeline_entries(r)]
    entries.sort(key=lambda e: (e["occurred_at_utc"], e["event_id"]))
    return [{k: v for k, v in e.items() if k != "occurred_at_utc"} for e in entries]


def open_identity_reviews(store, viewer, child_id):
    """The child's identity reviews still waiting for a registrar: when opened, why (coded reasons, worded
    by the page), how sure the matcher was. Only a registrar learns which other child is in the pair."""
    shown = []
    for review in store.identity_reviews_of_child(child_id):
        if review["status"] != "open":
            continue
        outcome = review.get("outcome") or {}
        item = {"review_id": review["review_id"], "version": review["version"], "created_at": review["created_at"],
                "reasons": list(outcome.get("reasons") or []), "score": outcome.get("score"),
                "probability": outcome.get("probability")}
        if viewer["role"] in REVIEWER_ROLES:
            item["other_child_id"] = review["candidate_id"] if review["child_id"] == child_id else review["child_id"]
        shown.append(item)
    return shown


def _refuse_merged(store, viewer, child_id, kept_id):
    """Point to the child this one was merged into - only a viewer who may see that child learns which."""
    kept = store.child(kept_id) or {}
    if not can_see_child(viewer, kept.get("profile") or {}, store.timeline(kept_id), store.referrals_of_child(kept_id)):
        raise Refusal("not_found", f"no child {child_id}")
    raise Refusal("merged", f"child {child_id} was linked to child {kept_id}: see that child", kept_id)


def child_page(store, viewer, child_id, now):
    try:
        viewer = check_viewer(viewer)
        if not isinstance(child_id, str) or not child_id:
            raise Refusal("invalid", "child_id is required", "child_id")
        child = store.child(child_id)
        entries = store.timeline(child_id)
        if child is None and not entries:
            raise Refusal("not_found", f"no child {child_id}")
        if child and child.get("merged_into"):
            _refuse_merged(store, viewer, child_id, child["merged_into"])
        profile = (child or {}).get("profile") or {}
        referrals = store.referrals_of_child(child_id)
        if not can_see_child(viewer, profile, entries, referrals):
            raise Refusal("forbidden", "this child has no referral or record at your place of work")
    except Refusal as refusal:
        return refusal.answer()
    consent = consent_view(build_state(child_id, profile, entries), viewer)
    visible = [r for r in referrals if can_see_referral(viewer, r)]
    shown = [present(r, viewer, now) for r in visible]
    reviews = open_identity_reviews(store, viewer, child_id)
    if not consent["shared"]:
        return {"ok": True, "child": {"child_id": child_id, "profile": {"child_id": child_id}, "consent": consent,
                                      "timeline": [], "growth": None, "dspm": None, "immunisations": None,
                                      "referrals": shown, "identity_reviews": reviews}}
    # Only the kinds of record this role needs (minimisation.py), and only the referrals it may see.
    state = build_state(child_id, profile, minimisation.visible_entries(
        viewer, entries, {r["referral_id"] for r in visible}))
    show = minimisation.sections(viewer)
    born = state.birth_date
    age = round((bangkok_date(now) - born).days / DAYS_PER_MONTH, 1) if born else None
    return {"ok": True, "child": {
        "child_id": child_id,
        "profile": {"child_id": child_id, **profile, "age_months": age},
        "consent": consent,
        "timeline": timeline(state, visible),
        "growth": growth_view(state) if show["growth"] else None,
        "dspm": dspm_view(state, now) if show["dspm"] else None,
        "immunisations": immunisation_view(state, now) if show["immunisations"] else None,
        "referrals": shown,
        "identity_reviews": reviews,
    }}
