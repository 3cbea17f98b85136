"""Bangkok's 50 districts and the city facilities in them that the simulator's children use.

The catalogue is fixed (the same codes on every run, whatever the seed): 69 public health centres
(`HC-<district>-NN`), 300 community child development centres (`CDC-<district>-NNN`), 400 city
schools with kindergarten classes (`SCH-<district>-NN`), the 11 city hospitals (`HOSP-<district>`)
and each district office's social welfare section (`DSW-<district>`).
"""

import csv
import functools
import importlib.resources
from dataclasses import dataclass

from .names import words


@dataclass(frozen=True)
class District:
    code: str
    name_th: str
    name_en: str


@dataclass(frozen=True)
class Facility:
    code: str
    name: str
    district_code: str

    def as_source(self):
        return {"code": self.code, "name": self.name, "district_code": self.district_code}


# The city's hospitals (สำนักการแพทย์) and the districts each one takes developmental referrals from.
HOSPITALS = [
    ("1008", "โรงพยาบาลกลาง", "1001 1002 1004 1007 1008 1013 1014 1017 1026 1029 1030 1037 1038"),
    ("1018", "โรงพยาบาลตากสิน", "1015 1016 1018 1020 1024 1025 1035 1049"),
    ("1031", "โรงพยาบาลเจริญกรุงประชารักษ์", "1012 1028 1031 1033 1039"),
    ("1023", "โรงพยาบาลหลวงพ่อทวีศักดิ์ ชุตินฺธโร อุทิศ", "1021 1022 1023 1040 1050"),
    ("1048", "โรงพยาบาลราชพิพัฒน์", "1019 1048"),
    ("1003", "โรงพยาบาลเวชการุณย์รัศมิ์", "1003 1010"),
    ("1011", "โรงพยาบาลลาดกระบัง กรุงเทพมหานคร", "1011"),
    ("1032", "โรงพยาบาลสิรินธร", "1006 1032 1034 1044 1045"),
    ("1046", "โรงพยาบาลคลองสามวา", "1005 1027 1036 1041 1042 1043 1046"),
    ("1047", "โรงพยาบาลบางนา กรุงเทพมหานคร", "1009 1047"),
    ("1021", "โรงพยาบาลผู้สูงอายุบางขุนเทียน", ""),  # geriatric: takes no children
]

# Districts with a second public health centre (69 in all: one in each district, two in these).
SECOND_HEALTH_CENTRE = words(
    "1003 1005 1006 1010 1011 1017 1021 1023 1026 1030 1032 1033 1035 1038 1040 1042 1046 1047 1048"
)

CDCS_PER_DISTRICT = 6
SCHOOLS_PER_DISTRICT = 8

# Community and temple names that centres and schools are named after.
COMMUNITIES = [
    "วัดสุทธิวราราม", "บ้านครัว", "ริมคลองประปา", "ซอยพระเจน", "วัดดวงแข", "หลังวัดหัวลำโพง",
    "คลองเตยล็อก 1-2-3", "บ่อนไก่", "พัฒนาใหม่", "วัดมะกอก", "สามัคคีร่วมใจ", "ร่วมใจพัฒนา",
    "วัดลาดบัวขาว", "คลองลำนุ่น", "มัสยิดบ้านสมถวิล", "เคหะร่มเกล้า", "หมู่บ้านเสรี", "ทรัพย์สินพัฒนา",
    "วัดบางบัว", "ตลาดพลู", "วัดกัลยาณมิตร", "บางพลัดใน", "ริมทางรถไฟ", "วัดสะพาน",
    "วัดไผ่ตัน", "สวนอ้อย", "ประชาร่วมใจ", "เจริญชัยนิมิตใหม่", "แฟลตดินแดง", "หลังตลาดมีนบุรี",
    "วัดทองเพลง", "คลองสามแสน", "บ้านมั่นคง", "เก่าตลาดน้อย", "วัดหนองจอก", "คลองบางมด",
]
TEMPLES = [
    "วัดนาคนิมิตร", "วัดประชาระบือธรรม", "วัดสามจีน", "วัดบางขุนเทียนใน", "วัดสุวรรณคีรี", "วัดเทพากร",
    "วัดทองสุทธาราม", "วัดพระยาไกร", "วัดราษฎร์บำรุง", "วัดบึงทองหลาง", "วัดใหม่ทองเสน", "วัดปากบ่อ",
    "วัดอุทัยธาราม", "วัดศรีเอี่ยม", "วัดลาดพร้าว", "วัดบางเสาธง", "วัดคลองเตยใน", "วัดสังฆราชา",
    "วัดบางนาใน", "วัดหนองใหญ่", "วัดบางประทุนนอก", "วัดโสมนัส", "วัดหลักสี่", "วัดพระยาสุเรนทร์",
]


class Places:
    def __init__(self, districts):
        self.districts = districts
        self.by_code = {district.code: district for district in districts}
        self.health_centres = self._health_centres(districts)
        self.cdcs = {d.code: self._named(d, "CDC", CDCS_PER_DISTRICT, 3, COMMUNITIES,
                                         "ศูนย์พัฒนาเด็กก่อนวัยเรียนชุมชน") for d in districts}
        self.schools = {d.code: self._named(d, "SCH", SCHOOLS_PER_DISTRICT, 2, TEMPLES, "โรงเรียน")
                        for d in districts}
        self.hospitals = {code: Facility(f"HOSP-{code}", name, code) for code, name, _ in HOSPITALS}
        self.catchment = {district: self.hospitals[code]
                          for code, _, served in HOSPITALS for district in words(served)}
        self.welfare_offices = {
            d.code: Facility(f"DSW-{d.code}", f"ฝ่ายพัฒนาชุมชนและสวัสดิการสังคม สำนักงานเขต{d.name_th}", d.code)
            for d in districts
        }

    @staticmethod
    def _health_centres(districts):
        centres, number = {}, 0
        for district in districts:
            centres[district.code] = []
            for n in range(1, 3 if district.code in SECOND_HEALTH_CENTRE else 2):
                number += 1
                centres[district.code].append(Facility(
                    f"HC-{district.code}-{n:02d}", f"ศูนย์บริการสาธารณสุข {number} {district.name_th}",
                    district.code))
        return centres

    def _named(self, district, prefix, count, width, names, kind):
        offset = int(district.code) * 7
        return [Facility(f"{prefix}-{district.code}-{n:0{width}d}",
                         f"{kind}{names[(offset + n) % len(names)]} เขต{district.name_th}", district.code)
                for n in range(1, count + 1)]

    def all_facilities(self):
        for group in (self.health_centres, self.cdcs, self.schools):
            for facilities in group.values():
                yield from facilities
        yield from self.welfare_offices.values()
        yield from self.hospitals.values()


def load_districts():
    data = importlib.resources.files("childlink_tools") / "data" / "bangkok-districts.csv"
    text = data.read_text("utf-8")
    return [District(row["code"], row["name_th"], row["name_en"]) for row in csv.DictReader(text.splitlines())]


@functools.cache
def bangkok():
    """The catalogue, built once."""
    return Places(load_districts())
