"""Thai names for simulated children and guardians, in Thai script, and the titles records put before them.

Drawn from pythainlp's name corpora, shipped inside the package (no download): `thai_male_names`
(~7,100 given names), `thai_female_names` (~5,100) and `thai_family_names` (~9,800), keeping the
names written in Thai letters only (a few family names such as `ณ อยุธยา` have a space or a dot). Real
names are not drawn uniformly - some are far commoner than others - so a curated list of common given
names of Thai children born since the late 2010s, and common family names (with the แซ่ clan names of
Thai-Chinese families), is drawn `COMMON_WEIGHT` times as often as any other name: about a fifth of
the draws. A few names of children of migrant workers from Myanmar, Cambodia and Laos, as Bangkok
records spell them in Thai (often with no family name), come from their own short lists.

Each list is a tuple in a fixed order (sorted corpus, then the common names repeated), so a seed gives
the same population whichever pythainlp build is installed, as long as its corpus is the same.
"""

import functools
import re

COMMON_WEIGHT = 20  # a common name is drawn this many times as often as a corpus name
THAI_NAME = re.compile(r"[\u0e01-\u0e4e]{2,40}")


def words(text):
    """The space-separated words of a block of text: keeps long curated lists readable."""
    return text.split()


MALE_GIVEN = words("""
ธนากร ณัฐวุฒิ ภูริ ปกรณ์ ธีรภัทร กิตติพัฒน์ ศุภชัย วรวุฒิ อนุชา ชยพล ภาคิน ปุณณวิช ธนภัทร ณัฐพล
ภูมิพัฒน์ กฤษดา ปิยะพงษ์ สุริยา อภิสิทธิ์ จิรายุ ธนวัฒน์ พีรพัฒน์ ศิวกร วีรภัทร ธนดล ปัณณวัฒน์ กิตติภูมิ
ภัทรพล นพดล ชนาธิป ณภัทร ตะวัน ภูผา คุณากร ธีรเดช รัชพล วชิรวิทย์ สิรวิชญ์ อชิตะ ภควัต ธนพล ปวริศ
พงศกร ณัฐภัทร ธันวา กันตพงศ์ ศักดิ์ชัย เอกชัย ชินกฤต อัครพล วุฒิชัย สรวิศ ภาณุพงศ์ ปรเมศวร์ ธราเทพ
เตชินท์ ก้องภพ นนทพัทธ์ จักรพันธ์ ฐิติพงศ์ ภูวดล วรเมธ ชนกันต์ พชร ธีรวัฒน์ กฤตภาส ณฐกร ปริญญา ศรัณย์
อิทธิพล ธนภูมิ พุฒิพงศ์ สุรเชษฐ์ ภัทรดนัย ณัฐกิตติ์ กวิน รณกร ธนวินท์ ภูบดินทร์ สมชาย
""")

FEMALE_GIVEN = words("""
ณัฐธิดา ปภาวรินทร์ กัญญาณัฐ ธัญชนก พิมพ์ชนก ชนิดา ศิริพร วรรณา สุภาวดี อรอุมา ณิชาภัทร ภัทรานิษฐ์
ชญาดา กมลชนก ธนัชพร พรรณทิพา นภัสสร เบญญาภา อริสรา ขวัญข้าว ณัฐณิชา สุชานันท์ พัชราภา ศศิธร
กานต์ธิดา ปวีณา ธิดารัตน์ อัญชลี จิราพร ชลธิชา ภัทรวดี รินรดา วริศรา ปิยธิดา สิริกร กชพร ณัฏฐณิชา
มนัสนันท์ ญาณิศา ภคพร ทิพวรรณ นันทิชา พิชชาพร อรปรียา กัลยรัตน์ ชุติมา เพ็ญศรี บุษบา ลลิตา วิภาวี
สุนิสา รัชนีกร ปาณิสรา ธมลวรรณ อภิชญา เขมิกา ณัชชา พิมพ์มาดา ศุภิสรา ภิญญดา อาทิตยา จันทร์เพ็ญ
กรองกาญจน์ ดารุณี นริศรา ปริยากร มณีรัตน์ วรัญญา สุพิชชา อนัญญา ขวัญจิรา ชนัญชิดา ณัฐวดี ทักษอร
ปวริศา พรนภัส ภาวิณี รุ่งนภา ศิรประภา สมหญิง
""")

FAMILY = words("""
สุขสวัสดิ์ ศรีสุข แสงทอง วงศ์สวัสดิ์ ทองดี บุญมา จันทร์แก้ว สมบูรณ์ ประเสริฐ รัตนพันธ์ เพชรรัตน์ ใจดี
มีสุข แซ่ตั้ง แซ่ลิ้ม แซ่อึ้ง ทองมา บุญเรือง ศรีวงศ์ อินทร์แก้ว แก้วมณี สายทอง คำแก้ว ชัยมงคล พรหมมา
ศรีสวัสดิ์ วงศ์ใหญ่ สุวรรณรัตน์ เจริญสุข ธนากุล กิตติวงศ์ มหาสุข รุ่งเรือง จันทร์หอม บุญประเสริฐ ศักดิ์ดี
ทองคำ นาคสวัสดิ์ พูลสวัสดิ์ สุขเจริญ อ่อนศรี ปัญญาดี วิเศษสุข ศรีทอง ชูชื่น โพธิ์ทอง เรืองศรี
แก้วประเสริฐ ทองสุข บุญยืน ศรีเมือง วงศ์คำ สิทธิชัย พึ่งบุญ มั่นคง อยู่เย็น จันทร์ดี สุขประเสริฐ
ทรัพย์สมบูรณ์ เกิดผล นิลสุวรรณ สมศรี แสงอรุณ คงสวัสดิ์ ขำคม ดวงแก้ว ธรรมสุข ประทุมทอง พรมสุวรรณ ภักดี
มณีวงศ์ ยิ้มแย้ม รักษาศรี ลิ้มเจริญ วัฒนชัย ศรีประเสริฐ สว่างวงศ์ หอมจันทร์ อุดมสุข กาญจนวงศ์ เขียวสด
จิตรดี ชาญชัย ตันติวงศ์ ทองอยู่ นาคประเสริฐ บุญญาศิริ ผลดี พิทักษ์วงศ์ มาลัยทอง เย็นใจ รอดภัย ลาภมาก
วรรณสุข ศิริวัฒน์ สมปอง หงษ์ทอง อินทรสุวรรณ เอี่ยมสะอาด โชติช่วง ไชยวงศ์ คงเจริญ งามวงศ์ จำปาทอง
บัวทอง ปานทอง พรหมวงศ์
""")

# Children of migrant workers, as Thai records spell them; many have no family name.
MIGRANT_MALE_GIVEN = words("หม่องหม่อง ซอวิน จ่อจ่อ ทุนทุน โกโก หน่ายลิน มินโซ สุเภียร วันนา สมพอน")
MIGRANT_FEMALE_GIVEN = words("มะเมียะ ขิ่นขิ่น ซูซู นันดา เอเอ ทินซาร์ สไบ โสภา ดารา บัวพัน")
MIGRANT_FAMILY = words("อู ทุน เมียว ซอ เจีย ปัญญา")

# Titles for children under 15, short and long; and for adults.
CHILD_TITLES = {"male": ("ด.ช.", "เด็กชาย"), "female": ("ด.ญ.", "เด็กหญิง")}
ADULT_TITLES = {"male": ("นาย",), "female": ("นาง", "นางสาว")}
ALL_TITLES = ("เด็กชาย", "เด็กหญิง", "ด.ช.", "ด.ญ.", "นางสาว", "นาย", "นาง")


@functools.cache
def corpus(kind):
    """pythainlp's names of one kind ("male", "female", "family"), Thai letters only, sorted."""
    from pythainlp.corpus import thai_family_names, thai_female_names, thai_male_names

    read = {"male": thai_male_names, "female": thai_female_names, "family": thai_family_names}[kind]
    return tuple(sorted(name for name in read() if THAI_NAME.fullmatch(name)))


@functools.cache
def _weighted(kind, common):
    """The corpus and the common names, each common name `COMMON_WEIGHT` times: a list to draw from."""
    return corpus(kind) + tuple(name for name in common for _ in range(COMMON_WEIGHT))


def given_names(sex, migrant=False):
    """Given names to draw a child's or guardian's from (`rng.choice`): common ones more often."""
    if migrant:
        return MIGRANT_MALE_GIVEN if sex == "male" else MIGRANT_FEMALE_GIVEN
    return _weighted("male", tuple(MALE_GIVEN)) if sex == "male" else _weighted("female", tuple(FEMALE_GIVEN))


def family_names():
    """Family names to draw from (`rng.choice`): common ones more often."""
    return _weighted("family", tuple(FAMILY))


def with_title(name, title, rng):
    """`ด.ช.ธนากร` as most records write it, sometimes with a space after the title."""
    return f"{title} {name}" if rng.random() < 0.3 else f"{title}{name}"


def strip_title(name):
    """The name without a leading title or surrounding spaces (what tests compare)."""
    name = name.strip()
    for title in ALL_TITLES:
        if name.startswith(title):
            return name[len(title):].strip()
    return name
