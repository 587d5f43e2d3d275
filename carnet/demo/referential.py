"""The demo's fixed data: the département, its territories and structures, the people
everyone will click on, and the word lists the generator draws from.

Everything here is data; `loader.py` turns it into rows. The names of the professionals
and of the four showcase beneficiaries are invented and hand-written, so the README's
table of demo accounts stays stable whatever version of Faker is installed.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from carnet.records.models import JourneyExitReason
from carnet.security.permissions import MembershipRole, OrganisationKind

K = OrganisationKind
R = MembershipRole

DEMO_SEED = 8_700
EMAIL_DOMAIN = "demo.carnet.fr"

# A real code and real communes make addresses, postal codes and birthplaces plausible;
# the « (démo) » suffix and `is_synthetic` say what it is, and the demo runs on its own
# SQLite file, so it can never meet a real Haute-Vienne tenant.
DEPARTEMENT_CODE = "87"
DEPARTEMENT_NAME = "Haute-Vienne (démo)"
BIRTH_DEPARTEMENT = ("87", "085", "Limoges")  # INSEE: most people here were born in Limoges

TERRITORIES: dict[str, str] = {
    "limoges": "Territoire de Limoges Métropole",
    "nord-ouest": "Territoire Nord-Ouest (Bellac, Saint-Junien)",
    "sud-est": "Territoire Sud-Est (Saint-Yrieix, Saint-Léonard)",
}


@dataclass(frozen=True)
class OrganisationSpec:
    key: str
    name: str
    kind: OrganisationKind
    territory: str | None
    siret: str | None = None
    is_sensible: bool = False
    is_pending: bool = False


ORGANISATIONS: tuple[OrganisationSpec, ...] = (
    OrganisationSpec(
        "mdd-limoges", "Maison du Département de Limoges – service social", K.DEPARTEMENT, "limoges"
    ),
    OrganisationSpec(
        "mdd-nord",
        "Maison du Département de Saint-Junien – service social",
        K.DEPARTEMENT,
        "nord-ouest",
    ),
    OrganisationSpec(
        "mdd-sud",
        "Maison du Département de Saint-Yrieix – service social",
        K.DEPARTEMENT,
        "sud-est",
    ),
    OrganisationSpec("insertion", "Direction de l'insertion et de l'emploi", K.DEPARTEMENT, None),
    OrganisationSpec(
        "ft-limoges", "France Travail – agence de Limoges Nord", K.FRANCE_TRAVAIL, "limoges"
    ),
    OrganisationSpec(
        "ft-nord", "France Travail – agence de Saint-Junien", K.FRANCE_TRAVAIL, "nord-ouest"
    ),
    OrganisationSpec("ml", "Mission locale Limoges Vienne Briance", K.MISSION_LOCALE, "limoges"),
    OrganisationSpec("cap", "Cap emploi Haute-Vienne", K.CAP_EMPLOI, None),
    OrganisationSpec("ccas", "CCAS de Saint-Junien", K.CCAS, "nord-ouest"),
    OrganisationSpec("plie", "PLIE de Limoges Métropole", K.PLIE, "limoges"),
    OrganisationSpec(
        "aci", "Atelier chantier d'insertion Les Jardins du Taurion", K.SIAE, "limoges"
    ),
    OrganisationSpec("toit", "Association Toit et Parcours", K.ASSOCIATION, "limoges"),
    OrganisationSpec(
        "formation", "Centre de formation Compétences Limousin", K.ORGANISME_FORMATION, None
    ),
    OrganisationSpec(
        "csapa", "CSAPA Le Rocher – soins en addictologie", K.SANTE, "limoges", is_sensible=True
    ),
    OrganisationSpec("cpam", "CPAM – mission accompagnement santé", K.SANTE, None),
    OrganisationSpec(
        "mobilite",
        "Association Mobilité solidaire Sud 87",
        K.ASSOCIATION,
        "sud-est",
        is_pending=True,
    ),
)


@dataclass(frozen=True)
class ProfessionalSpec:
    """One professional; `roles` are (organisation key, role, job title)."""

    key: str
    roles: tuple[tuple[str, MembershipRole, str], ...]
    given_name: str | None = None  # None: drawn by Faker
    family_name: str | None = None
    showcase: str = ""  # what to look at, for the README's table; empty: not listed


# The showcase accounts, one or more per role, with hand-written invented names.
SHOWCASE_PROFESSIONALS: tuple[ProfessionalSpec, ...] = (
    ProfessionalSpec(
        "claire",
        (
            ("mdd-limoges", R.PROFESSIONAL, "Assistante de service social"),
            ("insertion", R.TEAM_MEMBER, "Membre de l'équipe pluridisciplinaire"),
        ),
        "Claire",
        "Moreau",
        "Référente sociale de Nathalie Petit (volet santé ouvert par son accord) et d'autres "
        "personnes aux alertes variées ; deux rôles (référente, membre d'EP) à choisir à la "
        "connexion.",
    ),
    ProfessionalSpec(
        "julien",
        (("ft-limoges", R.PROFESSIONAL, "Conseiller à l'emploi"),),
        "Julien",
        "Marchand",
        "Référent France Travail de Samia Belkacem (parcours rouvert après une sortie).",
    ),
    ProfessionalSpec(
        "karim",
        (("ml", R.PROFESSIONAL, "Conseiller en insertion professionnelle"),),
        "Karim",
        "Haddad",
        "Référent de jeunes de moins de 26 ans, dont Kevin Morel.",
    ),
    ProfessionalSpec(
        "sophie",
        (
            ("insertion", R.ORIENTATION_OFFICER, "Chargée d'orientation"),
            ("insertion", R.DEPARTEMENT_ADMIN, "Responsable du pôle orientation"),
        ),
        "Sophie",
        "Lambert",
        "Chargée d'orientation : personnes sans référent (dont Gérard Lemoine) ; aussi "
        "administratrice du département.",
    ),
    ProfessionalSpec(
        "isabelle",
        (("insertion", R.DEPARTEMENT_ADMIN, "Directrice de l'insertion"),),
        "Isabelle",
        "Fournier",
        "Administratrice du département : habilitations (une structure en attente), territoires.",
    ),
    ProfessionalSpec(
        "marc",
        (
            ("ccas", R.PROFESSIONAL, "Travailleur social"),
            ("ccas", R.STRUCTURE_ADMIN, "Responsable du CCAS"),
        ),
        "Marc",
        "Dubreuil",
        "Administrateur de structure (membres du CCAS) et référent.",
    ),
    ProfessionalSpec(
        "lucie",
        (
            ("plie", R.PROFESSIONAL, "Chargée de mission PLIE"),
            ("aci", R.PROFESSIONAL, "Accompagnatrice socioprofessionnelle"),
        ),
        "Lucie",
        "Faure",
        "Travaille pour deux structures (PLIE et chantier d'insertion).",
    ),
    ProfessionalSpec(
        "helene",
        (("csapa", R.PROFESSIONAL, "Infirmière en addictologie"),),
        "Hélène",
        "Garnier",
        "Structure « sensible » : son nom est masqué aux autres structures du groupe de suivi ; "
        "la personne le voit.",
    ),
    ProfessionalSpec(
        "elodie",
        (("cap", R.PROFESSIONAL, "Conseillère Cap emploi"),),
        "Élodie",
        "Perrin",
        "Référente de personnes en situation de handicap.",
    ),
    ProfessionalSpec(
        "bernard",
        (("insertion", R.TEAM_MEMBER, "Représentant des bénéficiaires du RSA"),),
        "Bernard",
        "Colin",
        "Membre d'équipe pluridisciplinaire seulement : ne voit aucun carnet hors séance.",
    ),
    ProfessionalSpec(
        "yasmine",
        (("mobilite", R.STRUCTURE_ADMIN, "Coordinatrice"),),
        "Yasmine",
        "Taleb",
        "Structure en attente d'habilitation : absente du sélecteur de démonstration et "
        "sans accès tant que l'administratrice du département ne l'a pas habilitée.",
    ),
)

# The other professionals, drawn by Faker: (organisation key, role, job title) per role.
OTHER_PROFESSIONALS: tuple[tuple[tuple[str, MembershipRole, str], ...], ...] = (
    (("mdd-limoges", R.PROFESSIONAL, "Assistant de service social"),),
    (("mdd-limoges", R.PROFESSIONAL, "Conseillère en économie sociale et familiale"),),
    (
        ("mdd-limoges", R.STRUCTURE_ADMIN, "Responsable de la Maison du Département"),
        ("mdd-limoges", R.PROFESSIONAL, "Assistante de service social"),
    ),
    (("mdd-nord", R.PROFESSIONAL, "Assistante de service social"),),
    (
        ("mdd-nord", R.PROFESSIONAL, "Référent RSA"),
        ("insertion", R.TEAM_MEMBER, "Membre de l'équipe pluridisciplinaire"),
    ),
    (("mdd-sud", R.PROFESSIONAL, "Assistant de service social"),),
    (("mdd-sud", R.PROFESSIONAL, "Conseillère en insertion sociale"),),
    (("insertion", R.ORIENTATION_OFFICER, "Chargé d'orientation"),),
    (
        ("insertion", R.PROFESSIONAL, "Chargée d'insertion"),
        ("insertion", R.TEAM_MEMBER, "Secrétaire de l'équipe pluridisciplinaire"),
    ),
    (("ft-limoges", R.PROFESSIONAL, "Conseillère à l'emploi"),),
    (
        ("ft-limoges", R.PROFESSIONAL, "Conseiller accompagnement global"),
        ("insertion", R.TEAM_MEMBER, "Représentant de France Travail en EP"),
    ),
    (("ft-limoges", R.STRUCTURE_ADMIN, "Directrice d'agence"),),
    (("ft-nord", R.PROFESSIONAL, "Conseiller à l'emploi"),),
    (("ft-nord", R.PROFESSIONAL, "Conseillère à l'emploi"),),
    (("ml", R.PROFESSIONAL, "Conseillère en insertion professionnelle"),),
    (("ml", R.STRUCTURE_ADMIN, "Directeur de la mission locale"),),
    (("cap", R.PROFESSIONAL, "Conseiller Cap emploi"),),
    (("ccas", R.PROFESSIONAL, "Conseillère en économie sociale et familiale"),),
    (
        ("plie", R.PROFESSIONAL, "Référent de parcours PLIE"),
        ("insertion", R.TEAM_MEMBER, "Représentant du PLIE en EP"),
    ),
    (("plie", R.STRUCTURE_ADMIN, "Coordinatrice du PLIE"),),
    (("aci", R.PROFESSIONAL, "Encadrant technique d'insertion"),),
    (("aci", R.STRUCTURE_ADMIN, "Directeur du chantier"),),
    (("toit", R.PROFESSIONAL, "Travailleuse sociale logement"),),
    (("toit", R.PROFESSIONAL, "Intervenant social"),),
    (("formation", R.PROFESSIONAL, "Formatrice savoirs de base"),),
    (("formation", R.STRUCTURE_ADMIN, "Responsable pédagogique"),),
    (("csapa", R.PROFESSIONAL, "Éducateur spécialisé"),),
    (("cpam", R.PROFESSIONAL, "Conseillère accompagnement santé"),),
    (("cpam", R.PROFESSIONAL, "Conseiller accompagnement santé"),),
    (("mobilite", R.PROFESSIONAL, "Conseiller mobilité"),),
)

PLATFORM_ADMIN = ("Paul", "Mercier")


@dataclass(frozen=True)
class SituationSpec:
    """A kind of accompaniment: where the referent comes from and who else joins."""

    key: str
    weight: int
    # Referent organisations by territory ("*" for any territory).
    referent_organisations: dict[str, tuple[str, ...]]
    member_organisations: tuple[str, ...] = ()
    min_age: int = 18
    max_age: int = 64


SITUATIONS: tuple[SituationSpec, ...] = (
    SituationSpec(
        "sociale",
        32,
        {
            "limoges": ("mdd-limoges", "toit"),
            "nord-ouest": ("mdd-nord", "ccas"),
            "sud-est": ("mdd-sud",),
        },
        ("toit", "cpam", "csapa"),
        min_age=26,
    ),
    SituationSpec(
        "socio_professionnelle",
        20,
        # A chantier d'insertion is a partner of the group, never the référent.
        {
            "limoges": ("plie", "mdd-limoges"),
            "nord-ouest": ("mdd-nord", "ccas"),
            "sud-est": ("mdd-sud",),
        },
        ("aci", "formation", "plie"),
        min_age=26,
    ),
    SituationSpec(
        "professionnelle",
        30,
        {"limoges": ("ft-limoges",), "nord-ouest": ("ft-nord",), "sud-est": ("ft-limoges",)},
        ("formation", "aci"),
        min_age=26,
    ),
    SituationSpec("jeune", 10, {"*": ("ml",)}, ("formation", "toit"), max_age=25),
    SituationSpec("handicap", 6, {"*": ("cap",)}, ("cpam", "formation"), min_age=26),
)

# (journey shape, weight): the history a person's record shows.
JOURNEY_SHAPES: tuple[tuple[str, int], ...] = (
    ("open", 70),  # one journey in progress
    ("reopened", 12),  # an earlier journey closed with an exit, then a new one
    ("closed", 10),  # left the RSA: nothing open
    ("to_orient", 8),  # right opened lately, nobody named yet
)

EXIT_REASONS: tuple[tuple[JourneyExitReason, int], ...] = (
    (JourneyExitReason.EMPLOYMENT, 40),
    (JourneyExitReason.TRAINING, 15),
    (JourneyExitReason.END_OF_RIGHT, 25),
    (JourneyExitReason.MOVED, 15),
    (JourneyExitReason.OTHER, 5),
)

START_REASONS: dict[str, str] = {
    "referent": "Orientation décidée par le Département",
    "member": "Invitation du référent",
    "health": "Accompagnement santé avec l'accord de la personne",
}

END_REASONS_REFERENT: tuple[str, ...] = (
    "Changement de référent : départ de la professionnelle",
    "Changement de référent : répartition du portefeuille",
    "Réorientation vers une autre structure",
)
END_REASONS_MEMBER: tuple[str, ...] = (
    "Fin de l'action de formation",
    "Fin du contrat au chantier d'insertion",
    "Accompagnement logement terminé",
)
JOURNEY_END_REASON = "Fin du parcours"

SUSPENSION_REASONS: tuple[str, ...] = (
    "Déclaration trimestrielle de ressources non reçue",
    "Pièces justificatives manquantes",
    "Décision après avis de l'équipe pluridisciplinaire",
)

OTHER_ALLOWANCES: tuple[tuple[str | None, int], ...] = (
    (None, 55),
    ("Prime d'activité", 12),
    ("Allocations familiales", 12),
    ("ARE", 6),
    ("ASS", 5),
    ("AAH", 4),
    ("Aide au logement (APL)", 6),
)

# INSEE codes of a few countries of birth (code 99 + country), for people born abroad.
COUNTRIES_OF_BIRTH: tuple[tuple[str, str], ...] = (
    ("350", "Maroc"),
    ("352", "Algérie"),
    ("351", "Tunisie"),
    ("139", "Portugal"),
    ("208", "Turquie"),
)


@dataclass(frozen=True)
class ShowcaseBeneficiary:
    key: str
    given_name: str
    family_name: str
    sex: str
    age: int
    commune: str
    situation: str
    shape: str
    referent: str | None  # a showcase professional's key
    members: tuple[str, ...] = ()  # showcase professionals' keys
    health_partner: str | None = None  # organisation key of the health structure member
    showcase: str = ""
    exit_reason: JourneyExitReason | None = None  # of the earlier journey, if any
    story: str | None = None  # `carnet.demo.stories` key


SHOWCASE_BENEFICIARIES: tuple[ShowcaseBeneficiary, ...] = (
    ShowcaseBeneficiary(
        "nathalie",
        "Nathalie",
        "Petit",
        "F",
        41,
        "Limoges",
        "sociale",
        "open",
        referent="claire",
        members=("helene",),
        health_partner="csapa",
        showcase="Son propre carnet, qui l'a consulté, son accord santé donné à sa référente "
        "(Maison du Département de Limoges).",
        story="hebergement",
    ),
    ShowcaseBeneficiary(
        "kevin",
        "Kevin",
        "Morel",
        "M",
        23,
        "Isle",
        "jeune",
        "open",
        referent="karim",
        showcase="Jeune suivi par la mission locale ; parcours en cours.",
        story="jeune",
    ),
    ShowcaseBeneficiary(
        "samia",
        "Samia",
        "Belkacem",
        "F",
        36,
        "Limoges",
        "professionnelle",
        "reopened",
        referent="julien",
        exit_reason=JourneyExitReason.EMPLOYMENT,
        showcase="Parcours rouvert : une sortie vers l'emploi, puis un retour au RSA.",
        story="formation",
    ),
    ShowcaseBeneficiary(
        "gerard",
        "Gérard",
        "Lemoine",
        "M",
        58,
        "Saint-Yrieix-la-Perche",
        "sociale",
        "to_orient",
        referent=None,
        showcase="Droit ouvert récemment, pas encore de référent : en attente d'orientation.",
    ),
)
# Besides the showcase, this many generated people get an account too.
OTHER_BENEFICIARY_ACCOUNTS = 6


@dataclass(frozen=True)
class Commune:
    territory: str
    name: str
    postal_code: str
    weight: int


@cache
def communes() -> tuple[Commune, ...]:
    path = Path(__file__).with_name("communes.csv")
    with path.open(encoding="utf-8", newline="") as handle:
        return tuple(
            Commune(row["territory"], row["commune"], row["postal_code"], int(row["weight"]))
            for row in csv.DictReader(handle)
        )
