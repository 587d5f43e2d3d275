"""The policy's vocabulary: who (organisation kind, platform role, group role), what (section),
how much (level), and the audit tag grammar. StrEnums, alphabetical within each group."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class OrganisationKind(StrEnum):
    ASSOCIATION = "association"
    CAP_EMPLOI = "cap_emploi"
    CCAS = "ccas"
    DEPARTEMENT = "departement"
    FRANCE_TRAVAIL = "france_travail"
    MISSION_LOCALE = "mission_locale"
    ORGANISME_FORMATION = "organisme_formation"
    PLIE = "plie"
    SANTE = "sante"
    SIAE = "siae"


class MembershipRole(StrEnum):
    """The role an account holds in an organisation (one account may hold several)."""

    DEPARTEMENT_ADMIN = "departement_admin"
    ORIENTATION_OFFICER = "orientation_officer"
    PROFESSIONAL = "professional"
    STRUCTURE_ADMIN = "structure_admin"
    TEAM_MEMBER = "team_member"


class PrincipalRole(StrEnum):
    """The active role of a principal: a membership role, or one outside organisations."""

    BENEFICIARY = "beneficiary"
    DEPARTEMENT_ADMIN = "departement_admin"
    ORIENTATION_OFFICER = "orientation_officer"
    PLATFORM_ADMIN = "platform_admin"
    PROFESSIONAL = "professional"
    STRUCTURE_ADMIN = "structure_admin"
    SYSTEM = "system"
    TEAM_MEMBER = "team_member"


class GroupRole(StrEnum):
    """A member's role in a journey's follow-up group."""

    MEMBER = "member"
    ORIENTATION_OFFICER = "orientation_officer"
    REFERENT = "referent"


class Relation(StrEnum):
    """How the principal stands to a record; the policy's third axis."""

    GROUP_MEMBER = "group_member"  # in the active follow-up group (any group role)
    OTHER_DEPARTEMENT = "other_departement"
    OWN_RECORD = "own_record"
    SAME_DEPARTEMENT = "same_departement"  # a record of my département I do not follow


class Section(StrEnum):
    """Record sections (DOMAIN.md §4) plus the NIR, which has a stricter rule than identity."""

    APPOINTMENTS = "appointments"
    CONTACT = "contact"
    CONTRACTS = "contracts"
    DOCUMENTS = "documents"
    GROUP = "group"
    HEALTH = "health"
    HISTORY = "history"
    IDENTITY = "identity"
    NIR = "nir"
    NOTES = "notes"
    ORIENTATION = "orientation"
    PLAN = "plan"
    PRESCRIPTIONS = "prescriptions"
    PROJECTS = "projects"
    RIGHTS = "rights"
    SITUATION = "situation"
    TEAM_REVIEWS = "team_reviews"


class Level(IntEnum):
    """Ordered, so an override may be checked to only lower a level."""

    NONE = 0
    READ = 1
    WRITE = 2


class Action(StrEnum):
    """Actions on a record that are not a plain section read or write."""

    BREAK_GLASS = "record:break_glass"  # join a group outside orientation or invitation
    CLOSE_JOURNEY = "journey:close"  # record the exit of the journey (sortie de parcours)
    REQUEST_REORIENTATION = "orientation:request"  # the référent asks for a reorientation
    SIGN_OWN_CONTRACT = "contracts:sign"  # the person signs his or her contract
    SEARCH = "record:search"  # see a search hit: name, birth date, département id
    VIEW_ACCESS_LOG = "record:access_log"  # « Qui a consulté mon carnet »


class AuditAction(StrEnum):
    CREATE = "C"
    DELETE = "D"
    EXPORT = "E"
    READ = "R"
    UPDATE = "U"


class Purpose(StrEnum):
    """Why the access happened (FHIR purposeOfUse in the field's words)."""

    BREAK_GLASS = "break_glass"
    NORMAL = "normal"
    SYSTEM = "system"


class Outcome(StrEnum):
    ALLOWED = "allowed"
    DENIED = "denied"


def permission(section: Section, level: Level) -> str:
    """The `section:action` name of a permission, as logged and shown (`health:read`)."""
    return f"{section.value}:{level.name.lower()}"
