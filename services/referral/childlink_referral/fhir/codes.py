"""Code systems and codes of the FHIR export.

Thai systems from SIL-TH's implementation guides (MoPH-PC / 43 files plus): the national ID
`https://terms.sil-th.org/id/th-cid` (identifier type NI), the facility code `.../id/th-moph-hcode`,
a facility's own person number `https://terms.sil-th.org/hcode/5/{HOSPCODE}/PID`, and the vaccine codes
`.../CodeSystem/cs-thcc-vaccine-code` (the 43-file EPI.VACCINETYPE codes). LOINC for the measurements:
weight 29463-7, body height (length or height) 8302-2, head circumference 9843-4. Where no published
system was found (WHO z-scores, DSPM domains, the e-Refer status) the export uses childlink's own
`urn:childlink:` systems, listed in docs/fhir.md.
"""

TH_CID = "https://terms.sil-th.org/id/th-cid"
TH_HCODE = "https://terms.sil-th.org/id/th-moph-hcode"
TH_VACCINE = "https://terms.sil-th.org/CodeSystem/cs-thcc-vaccine-code"
TH_IDENTIFIER_TYPE = "https://terms.sil-th.org/CodeSystem/cs-th-identifier-type"
V2_IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"

CHILDLINK_CHILD = "urn:childlink:child-id"
CHILDLINK_FACILITY = "urn:childlink:facility"
CHILDLINK_EVENT = "urn:childlink:event-id"
CHILDLINK_REFERRAL = "urn:childlink:referral-id"
WHO_Z = "urn:childlink:CodeSystem:who-growth-z"
DSPM = "urn:childlink:CodeSystem:dspm"
HDC_PPSPECIAL = "urn:childlink:CodeSystem:hdc-ppspecial"  # the 43-file SPECIALPP.PPSPECIAL codes
EREFER_STATUS = "urn:childlink:CodeSystem:erefer-status"
REFERRAL_REASON = "urn:childlink:CodeSystem:referral-reason"
TASK_BUSINESS_STATUS = "urn:childlink:CodeSystem:referral-status"

MEASUREMENTS = (  # payload field, LOINC code, display, UCUM unit
    ("weight_kg", "29463-7", "Body weight", "kg"),
    ("height_cm", "8302-2", "Body height", "cm"),
    ("head_circumference_cm", "9843-4", "Head Occipital-frontal circumference", "cm"),
)
Z_SCORES = {  # child page z key -> (code, display)
    "z_wfa": ("wfa", "Weight-for-age z-score (WHO 2006)"),
    "z_lhfa": ("lhfa", "Length/height-for-age z-score (WHO 2006)"),
    "z_wflh": ("wflh", "Weight-for-length/height z-score (WHO 2006)"),
    "z_bmi": ("bmi", "BMI-for-age z-score (WHO 2006)"),
    "z_hcfa": ("hcfa", "Head circumference-for-age z-score (WHO 2006)"),  # where the growth module gives it
}
DSPM_DOMAIN_CODES = {  # domain -> (code, display, the HDC code's domain digit)
    "gross_motor": ("GM", "Gross motor", "0"), "fine_motor": ("FM", "Fine motor", "1"),
    "receptive_language": ("RL", "Receptive language", "2"), "expressive_language": ("EL", "Expressive language", "3"),
    "personal_social": ("PS", "Personal-social", "4"),
}
DSPM_RESULT_DIGIT = {"normal": "0", "suspected_delay": "1", "delayed": "2"}
DSPM_RESULT_DISPLAY = {"normal": "Normal", "suspected_delay": "Suspected delay", "delayed": "Delayed"}
EREFER_DISPLAY = {"P": "Pending", "A": "Accepted", "R": "Rejected", "E": "Expired", "C": "Cancelled", "F": "Final",
                  "V": "Appointment moved", "W": "Back-referral awaiting", "I": "Back-referral accepted"}

# (vaccine, dose) -> the 43-file / SIL-TH vaccine code, for events that carry no code of their own; an event's
# own payload.vaccine_code (rotavirus product, inactivated JE) wins. The current schedule's products.
THAI_VACCINE_CODE_FOR = {
    ("BCG", 1): "010", ("HBV", 1): "041", ("HBV", 2): "042", ("HBV", 3): "043",
    ("DTwP-HB-Hib", 1): "D21", ("DTwP-HB-Hib", 2): "D22", ("DTwP-HB-Hib", 3): "D23",
    ("OPV", 1): "081", ("OPV", 2): "082", ("OPV", 3): "083", ("OPV", 4): "084", ("OPV", 5): "085",
    ("DTwP", 1): "031", ("DTwP", 2): "032", ("DTwP", 3): "033", ("DTwP", 4): "034", ("DTwP", 5): "035",
    ("IPV", 1): "401", ("MMR", 1): "061", ("MMR", 2): "073", ("JE", 1): "J11", ("JE", 2): "J12",
    ("JE", 3): "053", ("ROTA", 1): "R21", ("ROTA", 2): "R22", ("ROTA", 3): "R23",
}
VACCINE_DISPLAY = {
    "BCG": "BCG", "HBV": "Hepatitis B", "DTwP-HB-Hib": "DTwP-HB-Hib", "OPV": "Oral polio (OPV)",
    "IPV": "Inactivated polio (IPV)", "ROTA": "Rotavirus", "MMR": "Measles-mumps-rubella (MMR)",
    "JE": "Japanese encephalitis (JE)", "DTwP": "DTwP",
}
