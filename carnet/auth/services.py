"""Login services: identities, magic links, activation codes, TOTP, roles and sessions.

These functions never touch the browser session nor commit: the views decide what goes
in the session (and regenerate its id) once a service has said who the person is.
Logs carry ids and event names only, never an address, a name, a code or a token.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from carnet import clock, db
from carnet.auth import principals
from carnet.auth.models import (
    Account,
    AccountKind,
    ActivationCode,
    MagicLink,
    OidcIdentity,
    TotpCredential,
)
from carnet.config import Settings
from carnet.errors import Conflict, Denied, InvalidInput, NotFound
from carnet.notifications import mail
from carnet.notifications import services as notifications
from carnet.records import gate
from carnet.records.models import Beneficiary
from carnet.security import audit, crypto, scoping, sessions
from carnet.security.permissions import (
    AuditAction,
    Level,
    MembershipRole,
    PrincipalRole,
    Section,
)
from carnet.security.principal import Principal
from carnet.tenancy.models import Membership

log = logging.getLogger(__name__)

MAGIC_LINK_LIFETIME = timedelta(minutes=10)
ACTIVATION_CODE_LIFETIME = timedelta(days=30)
ACTIVATION_MAX_FAILURES = 5
# Crockford's base 32: no I, L, O, U, so a code read aloud or copied from a letter survives.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
SELECTOR_LENGTH = 4  # public part, finds the row (20 bits)
SECRET_LENGTH = 12  # secret part (60 bits >= the 50 bits asked for)
TOTP_ISSUER = "Carnet de bord"
TOTP_PURPOSE = "totp"  # bound to the account: see totp_purpose()
# Provider evidence of a second factor (ProConnect: acr "eidas1-mfa", amr "mfa"/"totp"/"pop").
MFA_AMR_VALUES = frozenset({"mfa", "totp", "pop"})

UNKNOWN_LINK_MESSAGE = (
    "Ce lien de connexion n'est plus valable : il a déjà servi ou a expiré (il est valable "
    "10 minutes). Demandez-en un nouveau depuis la page de connexion."
)
BAD_CODE_MESSAGE = (
    "Ce code d'activation n'est pas reconnu, a déjà servi ou a expiré. Vérifiez-le ou "
    "demandez un nouveau code à votre référent."
)
ALREADY_LINKED_MESSAGE = (
    "Ce compte est déjà relié à une identité FranceConnect : un code d'activation ne peut "
    "pas le relier à une autre. Connectez-vous avec l'identité déjà reliée ou adressez-vous "
    "à votre référent."
)
ACTIVATION_REDEEMED = "auth:activation_code:redeemed"
IDENTITY_LINK_SECTION = "identity:link"


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


def _normalise_email(email: str) -> str:
    return email.strip().lower()


# -- accounts and roles ------------------------------------------------------------------------


def get_account(account_id: uuid.UUID) -> Account:
    account = db.session().get(Account, account_id)
    if account is None:
        raise NotFound("Ce compte n'existe pas.")
    return account


def ensure_can_log_in(account: Account) -> None:
    """Refuse, in French, an account that could not act once logged in."""
    if account.is_disabled:
        raise Denied(
            "Ce compte est désactivé. Adressez-vous à l'administrateur de votre structure.",
            code="account_disabled",
        )
    if account.kind is AccountKind.PROFESSIONAL and not principals.usable_memberships(account.id):
        raise Denied(
            "Votre compte n'est rattaché à aucune structure habilitée pour le moment. "
            "Demandez à l'administrateur de votre structure de vous y inviter.",
            code="no_membership",
        )
    if account.kind is AccountKind.BENEFICIARY and linked_beneficiary_id(account.id) is None:
        raise Denied(
            "Votre compte n'est relié à aucun carnet. Demandez un code d'activation à votre "
            "référent.",
            code="no_record",
        )


def linked_beneficiary_id(account_id: uuid.UUID) -> uuid.UUID | None:
    # Login precedes any scope: the person's own record is found across départements.
    with scoping.unscoped():
        return db.session().scalar(
            select(Beneficiary.id).where(Beneficiary.account_id == account_id)
        )


def record_login(account: Account, *, method: str) -> None:
    """Note the login on the account and in the log (ids only)."""
    account.last_login_at = clock.now()
    db.session().flush()
    log.info("login account=%s method=%s", account.id, method)


def needs_role_choice(account: Account) -> bool:
    return (
        account.kind is AccountKind.PROFESSIONAL
        and len(principals.usable_memberships(account.id)) > 1
    )


def list_usable_memberships(account_id: uuid.UUID) -> list[Membership]:
    return principals.usable_memberships(account_id)


def choose_membership(account_id: uuid.UUID, membership_id: uuid.UUID) -> Membership:
    for membership in principals.usable_memberships(account_id):
        if membership.id == membership_id:
            log.info("role switched account=%s membership=%s", account_id, membership_id)
            return membership
    raise InvalidInput("Ce rôle n'est pas, ou plus, disponible pour votre compte.")


def role_requires_mfa(role: PrincipalRole) -> bool:
    return role in principals.MFA_ROLES


def provider_proves_mfa(claims: dict[str, object]) -> bool:
    """A second factor shown to the provider: an `acr` ending in -mfa or a strong `amr`."""
    acr = claims.get("acr")
    if isinstance(acr, str) and acr.endswith("-mfa"):
        return True
    amr = claims.get("amr")
    if isinstance(amr, str):
        amr = [amr]
    return isinstance(amr, list) and any(str(value) in MFA_AMR_VALUES for value in amr)


def disable_account(*, actor: Principal, account_id: uuid.UUID) -> int:
    """Disable an account and end all its sessions; returns how many sessions ended."""
    if actor.role not in (PrincipalRole.PLATFORM_ADMIN, PrincipalRole.SYSTEM):
        raise Denied("Seul un administrateur de la plateforme peut désactiver un compte.")
    account = get_account(account_id)
    account.is_disabled = True
    db.session().flush()
    ended = sessions.revoke_account(db.session(), account.id)
    log.info(
        "account disabled account=%s by=%s sessions_ended=%d",
        account.id,
        actor.account_id or actor.label,
        ended,
    )
    return ended


# -- sessions of an account ----------------------------------------------------------------------


@dataclass(frozen=True)
class SessionRow:
    """One open session, as « Mes sessions » shows it (no id: the id is a credential)."""

    created_at: datetime
    last_seen_at: datetime
    auth_method: str
    is_current: bool


def list_sessions(account_id: uuid.UUID, current_session_id: str | None) -> list[SessionRow]:
    current_hash = _digest(current_session_id) if current_session_id else None
    return [
        SessionRow(
            created_at=record.created_at,
            last_seen_at=record.last_seen_at,
            auth_method=str(record.data.get("auth_method", "")),
            is_current=record.id_hash == current_hash,
        )
        for record in sessions.list_account_sessions(db.session(), account_id)
    ]


def revoke_other_sessions(account_id: uuid.UUID, current_session_id: str) -> int:
    """« Déconnecter les autres sessions »: every session of the account but this one."""
    result = db.session().execute(
        delete(sessions.ServerSessionRecord).where(
            sessions.ServerSessionRecord.account_id == account_id,
            sessions.ServerSessionRecord.id_hash != _digest(current_session_id),
        )
    )
    ended = int(getattr(result, "rowcount", 0) or 0)
    log.info("other sessions ended account=%s count=%d", account_id, ended)
    return ended


# -- magic links ---------------------------------------------------------------------------------


def request_magic_link(*, settings: Settings, email: str, link_for: Callable[[str], str]) -> None:
    """Mail a login link if the address belongs to an active account; silent otherwise.

    The caller answers the same thing either way, so the page reveals no account.
    """
    address = _normalise_email(email)
    account = db.session().scalar(
        select(Account).where(func.lower(Account.email) == address, Account.is_disabled.is_(False))
    )
    if account is None or account.email is None:
        log.info("magic link requested for no active account")
        return
    token = secrets.token_urlsafe(32)
    now = clock.now()
    link = MagicLink(
        account_id=account.id,
        token_hash=_digest(token),
        created_at=now,
        expires_at=now + MAGIC_LINK_LIFETIME,
    )
    db.session().add(link)
    db.session().flush()
    body = (
        f"Bonjour {account.given_name},\n\n"
        "Vous avez demandé à vous connecter au Carnet de bord. Ouvrez ce lien, puis "
        "confirmez avec le bouton « Me connecter » :\n\n"
        f"{link_for(token)}\n\n"
        "Ce lien est valable 10 minutes et ne sert qu'une fois. Si vous n'avez rien "
        "demandé, ignorez ce message : personne ne peut se connecter sans ce lien.\n\n"
        "— Carnet de bord\n"
    )
    mail.send_after_commit(
        settings,
        to=account.email,
        subject="Votre lien de connexion au Carnet de bord",
        body=body,
        kind="auth:magic_link",
    )
    log.info("magic link issued account=%s link=%s", account.id, link.id)


def _live_link(token: str) -> MagicLink | None:
    if not token or len(token) > 100:
        return None
    link = db.session().scalar(select(MagicLink).where(MagicLink.token_hash == _digest(token)))
    if link is None or link.used_at is not None or link.expires_at <= clock.now():
        return None
    return link


def magic_link_is_valid(token: str) -> bool:
    """For the confirmation page: reading does not consume (mail scanners open links)."""
    return _live_link(token) is not None


def consume_magic_link(token: str) -> Account:
    """Use the link once: an atomic update, so two concurrent POSTs cannot both succeed."""
    link = _live_link(token)
    if link is None:
        log.info("magic link refused")
        raise InvalidInput(UNKNOWN_LINK_MESSAGE)
    now = clock.now()
    result = db.session().execute(
        update(MagicLink)
        .where(MagicLink.id == link.id, MagicLink.used_at.is_(None), MagicLink.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        raise InvalidInput(UNKNOWN_LINK_MESSAGE)
    account = get_account(link.account_id)
    ensure_can_log_in(account)
    log.info("magic link used account=%s link=%s", account.id, link.id)
    return account


# -- OpenID Connect identities ---------------------------------------------------------------------


@dataclass(frozen=True)
class ProviderIdentity:
    """What a provider said about the person, once its ID token has been verified."""

    provider: str
    issuer: str
    subject: str
    email: str | None
    email_verified: bool
    given_name: str
    family_name: str
    has_mfa: bool


def find_identity_account(identity: ProviderIdentity) -> Account | None:
    row = db.session().scalar(
        select(OidcIdentity).where(
            OidcIdentity.issuer == identity.issuer, OidcIdentity.subject == identity.subject
        )
    )
    if row is None:
        return None
    row.last_used_at = clock.now()
    return get_account(row.account_id)


def _add_identity(account: Account, identity: ProviderIdentity) -> None:
    db.session().add(
        OidcIdentity(
            account_id=account.id,
            provider=identity.provider,
            issuer=identity.issuer,
            subject=identity.subject,
            last_used_at=clock.now(),
        )
    )
    db.session().flush()


@dataclass(frozen=True)
class ProfessionalLogin:
    account: Account
    # Whether the provider's second factor counts for this login (the session's `mfa`).
    has_mfa: bool


def resolve_professional(identity: ProviderIdentity) -> ProfessionalLogin:
    """The account of a ProConnect identity, and whether the provider's MFA counts.

    A known (issuer, subject) wins. Otherwise the first login claims the invited
    professional account holding the same *verified* e-mail, provided no identity of this
    provider is linked to it yet; from then on only the identity counts.

    A claim rests on an e-mail address alone, so on that first login the provider's
    second factor does not stand for an admin's (a département admin membership, or a
    confirmed TOTP credential): he or she steps up once in the app.
    """
    account = find_identity_account(identity)
    has_mfa = identity.has_mfa
    if account is None:
        account = _claim_invited_account(identity)
        if has_mfa and (_holds_admin_membership(account.id) or has_confirmed_totp(account.id)):
            log.info("claimed admin account must step up in the app account=%s", account.id)
            has_mfa = False
    ensure_can_log_in(account)
    return ProfessionalLogin(account=account, has_mfa=has_mfa)


def _holds_admin_membership(account_id: uuid.UUID) -> bool:
    count = db.session().scalar(
        select(func.count(Membership.id)).where(
            Membership.account_id == account_id,
            Membership.role == MembershipRole.DEPARTEMENT_ADMIN,
            Membership.ended_at.is_(None),
        )
    )
    return bool(count)


def _claim_invited_account(identity: ProviderIdentity) -> Account:
    unknown = Denied(
        "Nous ne trouvons pas de compte Carnet de bord pour cette identité. Demandez à "
        "l'administrateur de votre structure de vous inviter avec votre adresse "
        "professionnelle, puis reconnectez-vous.",
        code="unknown_identity",
    )
    if not identity.email or not identity.email_verified:
        log.info("identity unknown and no verified e-mail provider=%s", identity.provider)
        raise unknown
    # Only a professional's invitation is claimed by e-mail: never a person's account, and
    # never a platform admin's (that one logs in with an e-mail link and TOTP).
    account = db.session().scalar(
        select(Account).where(
            func.lower(Account.email) == _normalise_email(identity.email),
            Account.kind == AccountKind.PROFESSIONAL,
        )
    )
    if account is None:
        log.info("identity unknown provider=%s", identity.provider)
        raise unknown
    already = db.session().scalar(
        select(func.count(OidcIdentity.id)).where(
            OidcIdentity.account_id == account.id, OidcIdentity.provider == identity.provider
        )
    )
    if already:
        # The invitation was claimed by another identity: never take it over on e-mail alone.
        log.warning(
            "invited account already claimed account=%s provider=%s", account.id, identity.provider
        )
        raise unknown
    _add_identity(account, identity)
    log.info("invited account claimed account=%s provider=%s", account.id, identity.provider)
    return account


def resolve_beneficiary(identity: ProviderIdentity) -> Account | None:
    """The account of a FranceConnect identity, or None when an activation code is needed."""
    account = find_identity_account(identity)
    if account is None:
        return None
    ensure_can_log_in(account)
    return account


# -- activation codes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedCode:
    code: str  # shown once, never stored in clear
    expires_at: datetime


def _format_code(raw: str) -> str:
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def normalise_code(value: str) -> str:
    """Upper-case, separators dropped, and the letters people confuse with digits mapped."""
    cleaned = "".join(ch for ch in value.upper() if ch.isalnum())
    return cleaned.translate(str.maketrans("OILU", "011V"))


def issue_activation_code(*, actor: Principal, beneficiary_id: uuid.UUID) -> IssuedCode:
    """A new code for the person to link a FranceConnect identity; earlier ones stop working.

    Only a professional who may write the contact section issues one, never for his or her
    own record, and only while the person's account has no identity linked: a code links
    a first identity, it never re-links an account (that would hand the record over).
    """
    access = gate.open_record(
        actor=actor,
        beneficiary_id=beneficiary_id,
        section=Section.CONTACT,
        level=Level.WRITE,
        tag="auth:activation_code:issued",
    )
    account_id = access.beneficiary.account_id
    # The person (or whoever holds his or her session) never mints a code for the record.
    if not actor.is_professional or (account_id is not None and account_id == actor.account_id):
        raise Denied(
            "Seul un professionnel qui accompagne la personne peut lui délivrer un code "
            "d'activation."
        )
    if account_id is not None and _has_identity(account_id):
        raise Conflict(
            "Cette personne a déjà relié une identité FranceConnect à son carnet. Un nouveau "
            "code ne peut pas relier un autre compte : aucun code n'a été délivré. Si elle ne "
            "peut plus se connecter, adressez-vous à l'administrateur de la plateforme."
        )
    db_session = db.session()
    now = clock.now()
    db_session.execute(
        update(ActivationCode)
        .where(
            ActivationCode.beneficiary_id == beneficiary_id,
            ActivationCode.used_at.is_(None),
            ActivationCode.expires_at > now,
        )
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    )
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(SELECTOR_LENGTH + SECRET_LENGTH))
    row = ActivationCode(
        beneficiary_id=beneficiary_id,
        departement_id=access.beneficiary.departement_id,
        selector=raw[:SELECTOR_LENGTH],
        code_hash=_digest(raw),
        issued_by_id=actor.account_id,
        created_at=now,
        expires_at=now + ACTIVATION_CODE_LIFETIME,
    )
    db_session.add(row)
    db_session.flush()
    log.info("activation code issued code=%s beneficiary=%s", row.id, beneficiary_id)
    return IssuedCode(code=_format_code(raw), expires_at=row.expires_at)


@dataclass(frozen=True)
class ActivationResult:
    account: Account | None
    error: str | None


def _has_identity(account_id: uuid.UUID) -> bool:
    count = db.session().scalar(
        select(func.count(OidcIdentity.id)).where(OidcIdentity.account_id == account_id)
    )
    return bool(count)


def _spend_code(code_id: uuid.UUID, now: datetime) -> bool:
    """Mark the code used, only if it still is unused: of two concurrent redemptions, the
    second one's UPDATE waits for the first to commit, then matches no row."""
    result = db.session().execute(
        update(ActivationCode)
        .where(ActivationCode.id == code_id, ActivationCode.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0) == 1


def redeem_activation_code(
    identity: ProviderIdentity, code: str, *, settings: Settings
) -> ActivationResult:
    """Link a FranceConnect identity to the record the code was issued for.

    A wrong secret for a known selector counts as a failure on that code (5 kill it);
    the failure is written even though the login fails, so the caller must not roll back.
    A code brought for an account that already has an identity is spent and refused. The
    link is audited and announced to the person (in the app and, with an address, by
    e-mail), so a link the person did not make is noticed.
    """
    raw = normalise_code(code)
    if len(raw) != SELECTOR_LENGTH + SECRET_LENGTH:
        return ActivationResult(None, BAD_CODE_MESSAGE)
    db_session = db.session()
    now = clock.now()
    with scoping.unscoped():
        candidates = list(
            db_session.scalars(
                select(ActivationCode).where(
                    ActivationCode.selector == raw[:SELECTOR_LENGTH],
                    ActivationCode.used_at.is_(None),
                    ActivationCode.expires_at > now,
                    ActivationCode.failed_attempts < ACTIVATION_MAX_FAILURES,
                )
            )
        )
        digest = _digest(raw)
        match = next((c for c in candidates if hmac.compare_digest(c.code_hash, digest)), None)
        if match is None:
            for candidate in candidates:
                candidate.failed_attempts += 1
            db_session.flush()
            log.info("activation code refused candidates=%d", len(candidates))
            return ActivationResult(None, BAD_CODE_MESSAGE)
        beneficiary = db_session.get(Beneficiary, match.beneficiary_id)
        if beneficiary is None:  # pragma: no cover - the foreign key guarantees it
            return ActivationResult(None, BAD_CODE_MESSAGE)
        if not _spend_code(match.id, now):
            log.info("activation code already spent code=%s", match.id)
            return ActivationResult(None, BAD_CODE_MESSAGE)
    account = db_session.get(Account, beneficiary.account_id) if beneficiary.account_id else None
    if account is not None and _has_identity(account.id):
        log.warning(
            "activation code refused: account already linked code=%s account=%s",
            match.id,
            account.id,
        )
        return ActivationResult(None, ALREADY_LINKED_MESSAGE)
    if account is None:
        account = Account(
            kind=AccountKind.BENEFICIARY,
            given_name=identity.given_name or beneficiary.given_name,
            family_name=identity.family_name or beneficiary.family_name,
        )
        db_session.add(account)
        db_session.flush()
        beneficiary.account_id = account.id
    elif account.is_disabled:
        return ActivationResult(None, "Ce compte est désactivé. Adressez-vous à votre référent.")
    _add_identity(account, identity)
    _announce_link(settings, account, beneficiary, identity, code_id=match.id)
    log.info("activation code used code=%s account=%s", match.id, account.id)
    return ActivationResult(account, None)


def _announce_link(
    settings: Settings,
    account: Account,
    beneficiary: Beneficiary,
    identity: ProviderIdentity,
    *,
    code_id: uuid.UUID,
) -> None:
    """The access-log row (the person as actor) and the notices of a new identity link."""
    person = Principal(
        role=PrincipalRole.BENEFICIARY,
        auth_method=identity.provider,
        account_id=account.id,
        departement_id=beneficiary.departement_id,
        beneficiary_id=beneficiary.id,
    )
    audit.record_access(
        db.session(),
        actor=person,
        departement_id=beneficiary.departement_id,
        section=IDENTITY_LINK_SECTION,
        action=AuditAction.CREATE,
        tag=ACTIVATION_REDEEMED,
        beneficiary_id=beneficiary.id,
        object_id=code_id,
    )
    notifications.notify(
        recipient_account_id=account.id,
        departement_id=beneficiary.departement_id,
        kind=ACTIVATION_REDEEMED,
        beneficiary_id=beneficiary.id,
    )
    if account.email:
        # The one notice someone who linked his or her own identity cannot hide.
        mail.send_after_commit(
            settings,
            to=account.email,
            subject="Une identité FranceConnect a été reliée à votre Carnet de bord",
            body=(
                f"Bonjour {account.given_name},\n\n"
                "Une identité FranceConnect vient d'être reliée à votre Carnet de bord avec "
                "un code d'activation. Elle permet désormais de vous connecter à votre "
                "carnet.\n\n"
                "Si c'est bien vous, il n'y a rien à faire. Sinon, prévenez votre référent "
                "au plus vite.\n\n"
                "— Carnet de bord\n"
            ),
            kind=ACTIVATION_REDEEMED,
        )


# -- TOTP ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TotpEnrolment:
    secret: str
    uri: str


def get_totp_credential(account_id: uuid.UUID) -> TotpCredential | None:
    return db.session().scalar(
        select(TotpCredential).where(TotpCredential.account_id == account_id)
    )


def has_confirmed_totp(account_id: uuid.UUID) -> bool:
    credential = get_totp_credential(account_id)
    return credential is not None and credential.confirmed_at is not None


def totp_purpose(account_id: uuid.UUID) -> str:
    """The associated data of an account's TOTP secret: a sealed secret copied onto another
    account's credential does not open there."""
    return f"{TOTP_PURPOSE}:{account_id}"


def _open_totp_secret(credential: TotpCredential) -> str | None:
    try:
        return (
            crypto.current()
            .open_secret(credential.secret_sealed, purpose=totp_purpose(credential.account_id))
            .decode()
        )
    except crypto.CryptoError as exc:
        log.warning(
            "totp secret does not open account=%s error=%s",
            credential.account_id,
            type(exc).__name__,
        )
        return None


def _enrolment(account: Account, secret: str) -> TotpEnrolment:
    uri = pyotp.TOTP(secret).provisioning_uri(
        name=account.email or str(account.id), issuer_name=TOTP_ISSUER
    )
    return TotpEnrolment(secret=secret, uri=uri)


def pending_totp_enrolment(account: Account) -> TotpEnrolment | None:
    """The secret of an enrolment started but not yet confirmed; reads only."""
    credential = get_totp_credential(account.id)
    if credential is None or credential.confirmed_at is not None:
        return None
    secret = _open_totp_secret(credential)
    return None if secret is None else _enrolment(account, secret)


def start_totp_enrolment(account: Account) -> TotpEnrolment:
    """Create the secret to register in an authenticator app (the same one until it is
    confirmed); an unconfirmed secret that no longer opens is replaced."""
    credential = get_totp_credential(account.id)
    if credential is not None and credential.confirmed_at is not None:
        raise Denied("Une application d'authentification est déjà enregistrée pour ce compte.")
    secret = None if credential is None else _open_totp_secret(credential)
    if secret is None:
        secret = pyotp.random_base32()
        sealed = crypto.current().seal_secret(secret.encode(), purpose=totp_purpose(account.id))
        if credential is None:
            credential = TotpCredential(account_id=account.id, secret_sealed=sealed)
            db.session().add(credential)
        else:
            credential.secret_sealed = sealed
            credential.last_used_step = None
        db.session().flush()
        log.info("totp enrolment started account=%s", account.id)
    return _enrolment(account, secret)


def verify_totp(account_id: uuid.UUID, code: str) -> str | None:
    """Check a code (one step of drift either way), once; None when accepted, else why not."""
    credential = get_totp_credential(account_id)
    if credential is None:
        return "Aucune application d'authentification n'est enregistrée pour ce compte."
    digits = "".join(ch for ch in code if ch.isdigit())
    if len(digits) != 6:
        return "Saisissez les 6 chiffres affichés par votre application d'authentification."
    secret = _open_totp_secret(credential)
    if secret is None:
        return (
            "Votre application d'authentification ne peut pas être vérifiée. Adressez-vous à "
            "l'administrateur de la plateforme pour la réinitialiser."
        )
    totp = pyotp.TOTP(secret)
    current = totp.timecode(clock.now())
    matched = [
        step
        for step in (current - 1, current, current + 1)
        if hmac.compare_digest(totp.generate_otp(step), digits)
    ]
    if not matched:
        log.info("totp refused account=%s", account_id)
        return "Code incorrect. Vérifiez l'heure de votre téléphone et saisissez le code affiché."
    step = matched[-1]
    if credential.last_used_step is not None and step <= credential.last_used_step:
        log.warning("totp replay refused account=%s", account_id)
        return "Ce code a déjà servi. Attendez le code suivant de votre application."
    credential.last_used_step = step
    if credential.confirmed_at is None:
        credential.confirmed_at = clock.now()
    db.session().flush()
    log.info("totp accepted account=%s", account_id)
    return None


def reseal_totp_secrets(db_session: Session) -> int:
    """Re-seal every TOTP secret under the active KEK (`carnet keys rotate`)."""
    field_crypto = crypto.current()
    count = 0
    for credential in db_session.scalars(select(TotpCredential)):
        purpose = totp_purpose(credential.account_id)
        secret = field_crypto.open_secret(credential.secret_sealed, purpose=purpose)
        credential.secret_sealed = field_crypto.seal_secret(secret, purpose=purpose)
        count += 1
    db_session.flush()
    return count


# -- demo ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoChoice:
    account_id: uuid.UUID
    membership_id: uuid.UUID | None
    label: str
    detail: str


def list_demo_choices() -> dict[str, list[DemoChoice]]:
    """Demo accounts grouped by role label (only called in demo mode)."""
    db_session = db.session()
    groups: dict[str, list[DemoChoice]] = {}
    memberships = db_session.scalars(
        select(Membership)
        .join(Account, Account.id == Membership.account_id)
        .where(Membership.ended_at.is_(None), Account.is_disabled.is_(False))
        .order_by(Membership.role, Account.family_name, Account.given_name)
    )
    for membership in memberships:
        account = db_session.get(Account, membership.account_id)
        if account is None or not membership.organisation.is_accredited:
            continue
        groups.setdefault(ROLE_LABELS[PrincipalRole(membership.role)], []).append(
            DemoChoice(
                account.id, membership.id, account.display_name, membership.organisation.name
            )
        )
    admins = db_session.scalars(
        select(Account)
        .where(Account.kind == AccountKind.PLATFORM_ADMIN, Account.is_disabled.is_(False))
        .order_by(Account.family_name)
    )
    for account in admins:
        groups.setdefault(ROLE_LABELS[PrincipalRole.PLATFORM_ADMIN], []).append(
            DemoChoice(account.id, None, account.display_name, "Plateforme")
        )
    with scoping.unscoped():
        people = db_session.execute(
            select(Account, Beneficiary.city)
            .join(Beneficiary, Beneficiary.account_id == Account.id)
            .where(Account.is_disabled.is_(False))
            .order_by(Account.family_name, Account.given_name)
        )
        for account, city in people:
            groups.setdefault(ROLE_LABELS[PrincipalRole.BENEFICIARY], []).append(
                DemoChoice(account.id, None, account.display_name, city or "")
            )
    return groups


def demo_account(account_id: uuid.UUID, membership_id: uuid.UUID | None) -> Account:
    account = get_account(account_id)
    ensure_can_log_in(account)
    if membership_id is not None:
        choose_membership(account.id, membership_id)
    return account


ROLE_LABELS: dict[PrincipalRole, str] = {
    PrincipalRole.BENEFICIARY: "Personne accompagnée",
    PrincipalRole.DEPARTEMENT_ADMIN: "Administration du département",
    PrincipalRole.ORIENTATION_OFFICER: "Chargé·e d'orientation",
    PrincipalRole.PLATFORM_ADMIN: "Administration de la plateforme",
    PrincipalRole.PROFESSIONAL: "Professionnel·le (référent, conseiller)",
    PrincipalRole.STRUCTURE_ADMIN: "Administration de structure",
    PrincipalRole.SYSTEM: "Système",
    PrincipalRole.TEAM_MEMBER: "Membre d'équipe pluridisciplinaire",
}
