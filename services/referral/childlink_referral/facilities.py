"""Where a referral goes: the city hospital that serves a district, the district's social welfare section.

Facility codes are the ones the city's systems send (and the simulator uses): hospitals `HOSP-<district of
the hospital>`, each district office's social welfare section `DSW-<district>`.
"""

# The 10 city hospitals that take children's developmental referrals, and the districts each one serves
# (สำนักการแพทย์ catchments; Bang Khun Thian geriatric hospital takes no children).
HOSPITAL_CATCHMENTS = {
    "HOSP-1008": "1001 1002 1004 1007 1008 1013 1014 1017 1026 1029 1030 1037 1038",
    "HOSP-1018": "1015 1016 1018 1020 1024 1025 1035 1049",
    "HOSP-1031": "1012 1028 1031 1033 1039",
    "HOSP-1023": "1021 1022 1023 1040 1050",
    "HOSP-1048": "1019 1048",
    "HOSP-1003": "1003 1010",
    "HOSP-1011": "1011",
    "HOSP-1032": "1006 1032 1034 1044 1045",
    "HOSP-1046": "1005 1027 1036 1041 1042 1043 1046",
    "HOSP-1047": "1009 1047",
}
DEFAULT_HOSPITAL = "HOSP-1008"  # Klang hospital, for a district no catchment names (none today)

HOSPITAL_FOR_DISTRICT = {district: hospital for hospital, served in HOSPITAL_CATCHMENTS.items()
                         for district in served.split()}


def hospital_for(district):
    """The developmental clinic a child living in `district` is referred to."""
    hospital = HOSPITAL_FOR_DISTRICT.get(district or "", DEFAULT_HOSPITAL)
    return {"department": "medical", "facility": hospital, "district": hospital.removeprefix("HOSP-"),
            "service": "developmental_clinic"}


def social_welfare_for(district, service):
    """The district office's social welfare section, where the district's social workers are."""
    return {"department": "social", "facility": f"DSW-{district}", "district": district, "service": service}
