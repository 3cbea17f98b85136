"""Who sees which city figures: an executive the whole city, a district officer their own district (and
its centres and health centres), a centre head their own centre. No page here shows a child."""

CITY_ROLES = frozenset({"executive", "district_officer", "centre_head"})


def home_of(user):
    """Where the user's city view starts."""
    role = user["role"]
    if role == "district_officer" and user.get("district"):
        return f"/city/districts/{user['district']}"
    if role == "centre_head" and user.get("facility"):
        return f"/city/centres/{user['facility']}"
    return "/city"


def may_see(user, scope, scope_id, district_of=None):
    """`district_of`: the district a centre or health centre lies in, when known."""
    role = user["role"]
    if role == "executive":
        return True
    if role == "district_officer":
        own = user.get("district")
        return bool(own) and (scope == "district" and scope_id == own or
                              scope in ("centre", "facility") and district_of == own)
    if role == "centre_head":
        return scope == "centre" and bool(user.get("facility")) and scope_id == user["facility"]
    return False
