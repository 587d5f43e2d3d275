"""Synthetic people: names, birth, a NIR that matches them, a household and a way to reach them.

Shared by the demo loader and the bulk seeder. Faker (fr_FR) fills pools of names and
streets once; each person is then drawn from a seeded `random.Random`, so a run is
reproducible and 100,000 people cost a few seconds. A NIR is composed from the
person's sex, birth month and birthplace, with the control key computed by
python-stdnum and checked by `crypto.normalise_nir` (the same check as the import).
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TypeVar

from faker import Faker
from faker.providers.ssn.fr_FR import Provider as FrenchSsnProvider
from stdnum.fr import nir as stdnum_nir

from carnet.demo.referential import (
    BIRTH_DEPARTEMENT,
    COUNTRIES_OF_BIRTH,
    EMAIL_DOMAIN,
    OTHER_ALLOWANCES,
    Commune,
)
from carnet.records.models import (
    ContactChannel,
    DigitalAutonomy,
    HouseholdRole,
    Sex,
    search_name_of,
)
from carnet.security.crypto import normalise_nir

POOL_SIZE = 400
T = TypeVar("T")


@dataclass
class Person:
    given_name: str
    family_name: str
    birth_name: str | None
    sex: Sex
    birth_on: date
    birth_place: str
    nir: str
    caf_number: str
    is_msa: bool
    household_role: HouseholdRole
    dependants: int
    address_line: str
    postal_code: str
    city: str
    territory: str
    phone: str | None
    email: str | None
    preferred_channel: ContactChannel
    digital_autonomy: DigitalAutonomy
    other_allowances: str | None

    @property
    def search_name(self) -> str:
        return search_name_of(self.family_name, self.birth_name, self.given_name)


def weighted(rng: random.Random, pairs: tuple[tuple[T, int], ...]) -> T:
    """One value drawn from (value, weight) pairs."""
    values = [value for value, _ in pairs]
    weights = [weight for _, weight in pairs]
    return rng.choices(values, weights)[0]


def years_before(day: date, years: int) -> date:
    """The same calendar day `years` earlier (28 February for a 29th)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def search_key(text: str) -> str:
    """Lower-case, accent-free, single-spaced: how names are matched in searches."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.lower().split())


def email_local_part(given_name: str, family_name: str) -> str:
    """« Hélène Le Gall » → « helene.le-gall »."""

    def part(text: str) -> str:
        return "-".join(search_key(text).replace("'", " ").split())

    return f"{part(given_name)}.{part(family_name)}"


class PeopleGenerator:
    """Draws people living in the given communes; NIRs are unique within one generator."""

    def __init__(self, seed: int, communes: tuple[Commune, ...], *, today: date) -> None:
        self.rng = random.Random(seed)
        self.today = today
        fake = Faker("fr_FR")
        fake.seed_instance(seed)
        self.female_names = sorted({fake.first_name_female() for _ in range(POOL_SIZE)})
        self.male_names = sorted({fake.first_name_male() for _ in range(POOL_SIZE)})
        self.family_names = sorted({fake.last_name() for _ in range(POOL_SIZE * 2)})
        self.streets = sorted({fake.street_name() for _ in range(POOL_SIZE)})
        self.communes = communes
        self.commune_weights = [c.weight for c in communes]
        self.birthplaces = FrenchSsnProvider.departments_and_municipalities
        self.used_nirs: set[str] = set()
        self.used_caf: set[str] = set()

    # -- identity ----------------------------------------------------------------------
    def person(
        self,
        *,
        min_age: int = 18,
        max_age: int = 64,
        commune: Commune | None = None,
        sex: Sex | None = None,
    ) -> Person:
        rng = self.rng
        sex = sex or rng.choice((Sex.FEMALE, Sex.MALE))
        given = rng.choice(self.female_names if sex is Sex.FEMALE else self.male_names)
        family = rng.choice(self.family_names)
        birth_on = self.birth_date(min_age, max_age)
        birth_place, place_code = self.birthplace()
        commune = commune or rng.choices(self.communes, self.commune_weights)[0]
        phone = self.mobile() if rng.random() < 0.9 else None
        autonomy = rng.choices(list(DigitalAutonomy), (50, 30, 20))[0]
        email = self.email(given, family) if autonomy is not DigitalAutonomy.NO_ACCESS else None
        return Person(
            given_name=given,
            family_name=family,
            birth_name=None,
            sex=sex,
            birth_on=birth_on,
            birth_place=birth_place,
            nir=self.nir(sex, birth_on, place_code),
            caf_number=self.caf_number(),
            is_msa=rng.random() < 0.03,
            household_role=HouseholdRole.DEMANDEUR,
            dependants=rng.choices((0, 1, 2, 3, 4), (45, 22, 18, 10, 5))[0],
            address_line=f"{rng.randint(1, 120)} {rng.choice(self.streets)}",
            postal_code=commune.postal_code,
            city=commune.name,
            territory=commune.territory,
            phone=phone,
            email=email,
            preferred_channel=self.channel(phone, email, autonomy),
            digital_autonomy=autonomy,
            other_allowances=weighted(rng, OTHER_ALLOWANCES),
        )

    def partner_of(self, person: Person) -> Person:
        """A spouse in the same household: same CAF number and address."""
        sex = Sex.MALE if person.sex is Sex.FEMALE else Sex.FEMALE
        age = self.age_on(person.birth_on)
        partner = self.person(min_age=max(18, age - 6), max_age=min(64, age + 6), sex=sex)
        partner.household_role = HouseholdRole.CONJOINT
        partner.caf_number, partner.is_msa = person.caf_number, person.is_msa
        partner.address_line, partner.postal_code = person.address_line, person.postal_code
        partner.city, partner.territory = person.city, person.territory
        partner.dependants = person.dependants
        if partner.sex is Sex.FEMALE:
            partner.birth_name, partner.family_name = partner.family_name, person.family_name
        return partner

    def age_on(self, birth_on: date) -> int:
        years = self.today.year - birth_on.year
        return years - ((self.today.month, self.today.day) < (birth_on.month, birth_on.day))

    def birth_date(self, min_age: int, max_age: int) -> date:
        # Adults of working age, more of them between 25 and 45, as in the RSA files.
        age = min(max_age, max(min_age, round(self.rng.triangular(min_age, max_age, 34))))
        # Born between one day after the (age+1)th birthday date and today's date `age` years ago.
        earliest = years_before(self.today, age + 1) + timedelta(days=1)
        span = (years_before(self.today, age) - earliest).days
        return earliest + timedelta(days=self.rng.randint(0, span))

    def birthplace(self) -> tuple[str, str]:
        """(place name, five-character INSEE code for the NIR)."""
        draw = self.rng.random()
        if draw < 0.45:
            dept, municipality, city = BIRTH_DEPARTEMENT
            return city, dept + municipality
        if draw < 0.85:
            dept, municipality, _, city = self.rng.choice(self.birthplaces)
            return city, dept + municipality
        code, country = self.rng.choice(COUNTRIES_OF_BIRTH)
        return country, "99" + code

    def nir(self, sex: Sex, birth_on: date, place_code: str) -> str:
        prefix = f"{1 if sex is Sex.MALE else 2}{birth_on.year % 100:02d}{birth_on.month:02d}"
        while True:
            body = f"{prefix}{place_code}{self.rng.randint(1, 999):03d}"
            value = normalise_nir(body + stdnum_nir.calc_check_digits(body))
            if value not in self.used_nirs:
                self.used_nirs.add(value)
                return value

    def caf_number(self) -> str:
        while True:
            value = f"{self.rng.randint(1_000_000, 9_999_999)}"
            if value not in self.used_caf:
                self.used_caf.add(value)
                return value

    # -- contact -----------------------------------------------------------------------
    def mobile(self) -> str:
        digits = [self.rng.randint(0, 99) for _ in range(4)]
        return f"0{self.rng.choice('67')} " + " ".join(f"{d:02d}" for d in digits)

    def email(self, given: str, family: str) -> str:
        return f"{email_local_part(given, family)}{self.rng.randint(1, 999)}@{EMAIL_DOMAIN}"

    def channel(
        self, phone: str | None, email: str | None, autonomy: DigitalAutonomy
    ) -> ContactChannel:
        if email and autonomy is DigitalAutonomy.AUTONOMOUS:
            return self.rng.choice((ContactChannel.EMAIL, ContactChannel.SMS))
        if phone:
            return self.rng.choice(
                (ContactChannel.SMS, ContactChannel.PHONE, ContactChannel.LETTER)
            )
        return ContactChannel.LETTER

    # -- identifiers -------------------------------------------------------------------
    def france_travail_id(self) -> str:
        return (
            f"{self.rng.randint(1_000_000, 9_999_999)}{self.rng.choice('ABCDEFGHJKLMNPRSTUVWXYZ')}"
        )
