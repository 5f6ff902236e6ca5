"""Standardisation before comparison: most of a linker's recall comes from here.

Pure functions from what a feed sent to comparable values: names without case, accents or
punctuation; surnames split into their parts (hyphenated and double-barrelled); forenames mapped to a
formal form (Alfie → alfred, Ayesha → aisha, Kasia → katarzyna); house numbers and streets; postcode
sector and district; junk values ("UNKNOWN", "Baby Boy") treated as missing.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

# Placeholder values that say "no name": they must never make two records agree.
JUNK_NAMES = frozenset({
    "unknown", "not known", "notknown", "nk", "n k", "baby", "baby boy", "baby girl", "infant", "child",
    "twin", "twin 1", "twin 2", "twin one", "twin two", "test", "xxx", "x", "none", "null", "na", "n a",
})
# Of those, codes that are also names: systems write them as codes ("NA", "N/A", "n/a"); written as a name ("Na")
# it is one, or a slip in one (Naa, an Akan girl's name, with a letter dropped). Read as missing, such a slip left a
# record carrying her twin's copied number without a forename to tell the twins apart (independent 100k, seeds 40
# and 41).
CODES_THAT_ARE_NAMES = frozenset({"na"})
# Nickname → formal forename. A forename maps to itself when absent. Ambiguous short forms
# (e.g. "alex": alexander or alexandra) map to the short form, so the gender comparison can separate them.
NICKNAMES: dict[str, str] = {
    "alfie": "alfred", "alf": "alfred", "maisie": "margaret", "maisy": "margaret", "meg": "margaret",
    "peggy": "margaret", "maggie": "margaret", "ellie": "eleanor", "nell": "eleanor", "nellie": "eleanor",
    "charlie": "charles", "chas": "charles", "freddie": "frederick", "freddy": "frederick", "fred": "frederick",
    "harry": "henry", "hal": "henry", "jack": "john", "johnny": "john", "jonny": "john", "kate": "katherine",
    "katie": "katherine", "kat": "katherine", "kathy": "katherine", "catherine": "katherine",
    "bill": "william", "billy": "william", "will": "william", "willy": "william", "liam": "william",
    "sam": "samuel", "sammy": "samuel", "tom": "thomas", "tommy": "thomas", "lizzie": "elizabeth",
    "lizzy": "elizabeth", "liz": "elizabeth", "beth": "elizabeth", "betty": "elizabeth", "libby": "elizabeth",
    "eliza": "elizabeth", "bob": "robert", "bobby": "robert", "rob": "robert", "robbie": "robert",
    "dan": "daniel", "danny": "daniel", "jim": "james", "jimmy": "james", "jamie": "james",
    "mike": "michael", "mikey": "michael", "mick": "michael", "joe": "joseph", "joey": "joseph",
    "ben": "benjamin", "benny": "benjamin", "matt": "matthew", "nick": "nicholas", "nicky": "nicholas",
    "chris": "christopher", "kit": "christopher", "ted": "edward", "teddy": "edward", "ed": "edward",
    "eddie": "edward", "ned": "edward", "archie": "archibald", "olly": "oliver", "ollie": "oliver",
    "jenny": "jennifer", "jen": "jennifer", "becky": "rebecca", "becca": "rebecca", "abby": "abigail",
    "abbie": "abigail", "millie": "amelia", "milly": "amelia", "izzy": "isabella", "bella": "isabella",
    "isla": "isla", "evie": "eve", "rosie": "rose", "sophie": "sophia", "lottie": "charlotte",
    "charly": "charlotte", "molly": "mary", "polly": "mary", "annie": "anne", "ann": "anne", "hattie": "harriet",
    "tilly": "matilda", "mattie": "matilda", "gus": "augustus", "theo": "theodore", "teddie": "theodore",
    "zach": "zachary", "zack": "zachary", "josh": "joshua", "toby": "tobias", "jess": "jessica",
    "jessie": "jessica", "vicky": "victoria", "tori": "victoria", "steph": "stephanie", "andy": "andrew",
    "drew": "andrew", "tony": "anthony", "ant": "anthony", "pat": "patrick", "paddy": "patrick",
    "stevie": "steven", "steve": "steven", "stephen": "steven", "rich": "richard", "ricky": "richard",
    "dick": "richard", "greg": "gregory", "ray": "raymond", "reggie": "reginald", "ronnie": "ronald",
    "sandy": "alexander", "sasha": "alexander", "xander": "alexander",
}
# Spellings of one name beyond English, each → one form (a transliteration has no single right spelling; a
# diminutive is what a family calls the child at the GP and what the school writes). Only variants of one name:
# a short form several names share (Somali "Abdi", Igbo "Chidi") is left alone, and so is one that is a given name
# in its own right (Yoruba "Tobi" beside "Oluwatobi", Igbo "Emeka" beside "Chukwuemeka": the independent population
# names twins both), as are day names (Akan twins share theirs).
NAME_VARIANTS: dict[str, tuple[str, ...]] = {
    # Arabic names as Pakistani, Bangladeshi, Arab, Somali and Indian families and clerks transliterate them.
    # Not Muhammad's spellings yet: it is also the prefix or middle name of many boys called by another name, so
    # one spelling met through the middle-name level joined twins "Usman Muhammad" and "Mohammed" (measured).
    "ahmed": ("ahmad",), "hussain": ("hussein", "husain", "hossain", "husein"), "hasan": ("hassan",),
    "yusuf": ("yousef", "yousuf", "youssef", "yusef"), "ibrahim": ("ebrahim", "ibraheem"),
    "fatima": ("fatimah", "fatema", "fathima", "faduma", "faadumo"), "aisha": ("ayesha", "aysha", "aishah", "ayisha"),
    "zainab": ("zaynab", "zeinab"), "maryam": ("mariam", "mariyam"), "khadija": ("khadijah", "khadeeja"),
    "abdullah": ("abdulla", "abdallah"),
    "abdirahman": ("abdurahman", "abdulrahman", "abdurrahman", "abdelrahman", "abdirahmaan"),
    "mustafa": ("mostafa", "mustapha"), "omar": ("umar",), "usman": ("osman", "uthman", "othman"),
    "amina": ("aminah", "ameena"), "hamza": ("hamzah",), "yasmin": ("yasmine", "yasmeen"), "noor": ("nur",),
    "hafsa": ("hafsah",), "sumaya": ("sumaiya", "sumayyah", "sumayya"), "safiya": ("safia", "safiyyah"),
    "ismail": ("ismael", "ismaeel"), "idris": ("idrees",), "zakariya": ("zakaria", "zakariyya"),
    "yahya": ("yahia",), "bilal": ("belal",),
    # Polish diminutives.
    "katarzyna": ("kasia",), "malgorzata": ("gosia", "malgosia"), "aleksandra": ("ola",), "magdalena": ("magda",),
    "anna": ("ania",), "zofia": ("zosia",), "barbara": ("basia",), "jakub": ("kuba",), "tomasz": ("tomek",),
    "jan": ("janek", "jasiek"), "wojciech": ("wojtek",), "krzysztof": ("krzys",), "piotr": ("piotrek",),
    "aleksander": ("olek",), "szymon": ("szymek",), "bartlomiej": ("bartek",), "antoni": ("antek",),
    "franciszek": ("franek",), "stanislaw": ("stas",), "zuzanna": ("zuzia",),
}
NICKNAMES.update({variant: name for name, variants in NAME_VARIANTS.items() for variant in variants})
_NOT_LETTERS = re.compile(r"[^a-z ]+")
_SPACES = re.compile(r"\s+")
_HOUSE_NUMBER = re.compile(r"^\s*(?:flat\s+\w+\s*,?\s*)?(\d+[a-z]?)\b")


# Letters Unicode does not decompose into a base letter and an accent: NFKD leaves them whole, and the cleaning
# below would drop them ("Małgorzata" became "ma gorzata", "Łukasz" "ukasz"), so they are spelt out first.
_UNDECOMPOSED = str.maketrans({"ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ø": "o", "Ø": "O", "æ": "ae", "Æ": "Ae",
                               "œ": "oe", "Œ": "Oe", "ß": "ss", "ı": "i", "þ": "th", "Þ": "Th", "ð": "d", "Ð": "D",
                               "ħ": "h", "Ħ": "H"})


def _ascii_lower(value: str) -> str:
    if value.isascii():  # most names: nothing to decompose
        return value.lower()
    decomposed = unicodedata.normalize("NFKD", value.translate(_UNDECOMPOSED))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


@lru_cache(maxsize=1 << 16)  # names repeat: a national load standardises each distinct one once
def clean_name(value: str | None) -> str | None:
    """Lower case, no accents; hyphens become spaces, apostrophes vanish (O'Brien → obrien); junk → None."""
    if not value:
        return None
    text = _ascii_lower(value).replace("'", "").replace("’", "").replace("-", " ")
    text = _SPACES.sub(" ", _NOT_LETTERS.sub(" ", text)).strip()
    if text in CODES_THAT_ARE_NAMES and _written_as_a_name(value):
        return text
    return None if not text or text in JUNK_NAMES else text


def _written_as_a_name(value: str) -> bool:
    # A capital, then small letters: "Na", not "NA", "N/A" or "na".
    word = value.strip()
    return word.isalpha() and word[0].isupper() and word[1:].islower()


def forename_key(value: str | None) -> str | None:
    """The first forename, cleaned and mapped from a nickname to its formal form."""
    name = clean_name(value)
    if name is None:
        return None
    first = name.split(" ")[0]
    return NICKNAMES.get(first, first)


def given_name_parts(value: str | None) -> list[str]:
    """Each given name a field holds, cleaned and mapped to its formal form, junk left out ("Mary-Jane" → mary,
    jane). Read word by word as written, so a code that is also a name keeps its reading: "Na Araba" gives na and
    araba, "NA Araba" only araba."""
    if clean_name(value) is None:  # junk as a whole ("Not Known", "Baby Girl")
        return []
    parts: list[str] = []
    for word in (value or "").split():
        cleaned = clean_name(word)
        for part in cleaned.split(" ") if cleaned else []:
            if part in JUNK_NAMES and part != cleaned:  # a junk part inside a word ("J.X.")
                continue
            parts.append(NICKNAMES.get(part, part))
    return parts


def surname_parts(*values: str | None) -> tuple[str, ...]:
    """Every part of every surname given (family, former, preferred), for "any part agrees" comparisons."""
    parts: list[str] = []
    for value in values:
        name = clean_name(value)
        if name:
            parts.extend(p for p in name.split(" ") if p not in parts)
    return tuple(parts)


def surname_key(value: str | None) -> str | None:
    """The whole surname without spaces (Smith-Jones, Smith Jones and SMITHJONES all agree)."""
    name = clean_name(value)
    return name.replace(" ", "") if name else None


def transposed(born: date | None) -> date | None:
    """The same date with day and month swapped, when that is a real, different date."""
    if born is None or born.day > 12 or born.day == born.month:
        return None
    return date(born.year, born.day, born.month)


@dataclass(frozen=True)
class PostcodeParts:
    """A postcode's levels: full, sector (``S60 1``), district (``S60``), area (``S``)."""

    full: str | None
    sector: str | None
    district: str | None
    area: str | None


def postcode_parts(postcode: str | None) -> PostcodeParts:
    """Levels of an official-form postcode (``A9 9AA``); all None when absent."""
    if not postcode or " " not in postcode:
        return PostcodeParts(None, None, None, None)
    outward, inward = postcode.split(" ", 1)
    area = re.match(r"^[A-Z]+", outward)
    return PostcodeParts(postcode, f"{outward} {inward[0]}", outward, area.group(0) if area else None)


def identifier_key(value: str | None) -> str | None:
    """An identifier without a check digit, as compared: upper case, without spaces, hyphens or slashes."""
    if not value:
        return None
    key = re.sub(r"[\s/-]+", "", value).upper()
    return key or None


def house_number(address_line: str | None) -> str | None:
    """The house number at the start of an address line ("12a Oak Road" → "12a")."""
    if not address_line:
        return None
    match = _HOUSE_NUMBER.match(_ascii_lower(address_line))
    return match.group(1) if match else None


def street_key(address_line: str | None) -> str | None:
    """The street of an address line, cleaned, without its house number."""
    if not address_line:
        return None
    text = _ascii_lower(address_line)
    text = _HOUSE_NUMBER.sub("", text)
    text = _SPACES.sub(" ", _NOT_LETTERS.sub(" ", text)).strip()
    return text or None
