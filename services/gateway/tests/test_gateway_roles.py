"""Roles: the viewer dict, who gets child data, which actions are offered."""

from childlink_gateway.fake_referral import sample_referral
from childlink_gateway.roles import likely_actions, reads_audit, sees_child_data, viewer_of
from childlink_gateway.seed import DEMO_USERS, user_record

USERS = {spec["role"]: user_record(spec, "$argon2id$x") for spec in DEMO_USERS}


def test_the_viewer_carries_who_and_where_never_the_password_or_name():
    viewer = viewer_of(USERS["health_centre_staff"])
    assert viewer == {"user_id": "u-hc.somsri", "role": "health_centre_staff", "department": "health",
                      "facility": "HC-1001-01", "district": "1001"}


def test_demo_users_cover_every_role_with_the_fields_the_role_needs():
    from childlink_gateway.roles import ROLES
    assert set(USERS) == set(ROLES)
    for role in ("health_centre_staff", "hospital_staff", "centre_staff", "school_staff"):
        assert USERS[role]["facility"]
    for role in ("social_worker", "district_officer"):
        assert USERS[role]["district"]
    assert USERS["department_staff"]["department"]


def test_operators_auditors_and_city_figure_readers_get_no_child_data_and_only_auditors_read_the_audit_log():
    assert {role for role, user in USERS.items() if not sees_child_data(user)} == {
        "operator", "auditor", "executive", "centre_head"}
    assert {role for role, user in USERS.items() if reads_audit(user)} == {"auditor"}


def test_the_referral_services_allowed_actions_win():
    referral = sample_referral(allowed_actions=["reject", "accept"])
    assert likely_actions(USERS["district_officer"], referral) == ["accept", "reject"]
    assert likely_actions(USERS["hospital_staff"], {**referral, "allowed_actions": []}) == []


def test_without_allowed_actions_the_side_and_status_decide():
    referral = sample_referral()  # health centre HC-1001-01 -> HOSP-1008, requested
    assert likely_actions(USERS["hospital_staff"], referral) == ["accept", "reject"]
    assert likely_actions(USERS["health_centre_staff"], referral) == ["cancel"]
    assert likely_actions(USERS["district_officer"], referral) == []
    assert likely_actions(USERS["hospital_staff"], {**referral, "status": "in_progress"}) == ["complete"]
    assert likely_actions(USERS["hospital_staff"], {**referral, "status": "completed"}) == []
    social = sample_referral(reason="household_support", to={"department": "social", "facility": "DSW-1001",
                                                             "district": "1001"})
    assert likely_actions(USERS["social_worker"], social) == ["accept", "reject"]
