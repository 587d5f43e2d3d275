"""Field encryption: AES-256-GCM under a data key per beneficiary, wrapped by a key-encryption
key (KEK) from a key ring; HMAC blind indexes for the NIR; crypto-shredding.

The associated data binds each ciphertext to its table, column, row and person, so a
ciphertext copied elsewhere fails to open. Decryption happens only in services, after
the policy has allowed the read.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap
from sqlalchemy import ForeignKey, LargeBinary, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column
from stdnum.exceptions import InvalidChecksum
from stdnum.exceptions import ValidationError as StdnumValidationError
from stdnum.fr import nir as stdnum_nir

from carnet import clock
from carnet.db import Base, TenantScoped

FORMAT_VERSION = b"\x01"
NONCE_BYTES = 12
KEY_BYTES = 32
KEY_ID_RE = re.compile(r"[A-Za-z0-9._-]{1,32}")


class CryptoError(Exception):
    """Base of the named errors of this module."""


class KeyRingError(CryptoError):
    pass


class UnknownKey(CryptoError):
    pass


class KeyShredded(CryptoError):
    """The person's data key was destroyed: the data is gone on purpose."""


class TamperedCiphertext(CryptoError):
    pass


class InvalidNir(ValueError):
    """A NIR that fails the format or control-key check; the message is French."""


class DataKey(TenantScoped, Base):
    """One beneficiary's data key, wrapped by the KEK named `kek_id`."""

    __tablename__ = "data_keys"

    beneficiary_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("beneficiaries.id"), primary_key=True
    )
    departement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departements.id"), index=True)
    kek_id: Mapped[str | None] = mapped_column(String(32))
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary(40))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    rotated_at: Mapped[datetime | None]
    shredded_at: Mapped[datetime | None]


@dataclass(frozen=True)
class KeyRing:
    """Key-encryption keys by id; the active one wraps new data keys."""

    active_id: str
    keys: dict[str, bytes] = field(repr=False)

    @classmethod
    def parse(cls, text: str) -> KeyRing:
        """Read `id:base64,id:base64` (first is active) or a JSON `{"active", "keys"}`."""
        text = text.strip()
        entries: list[tuple[str, str]] = []
        if text.startswith("{"):
            try:
                data = json.loads(text)
                entries = [(str(k), str(v)) for k, v in data["keys"].items()]
                active = str(data["active"]).strip()
            except (ValueError, KeyError, AttributeError, TypeError) as exc:
                raise KeyRingError("trousseau JSON illisible : attendu {active, keys}") from exc
        else:
            for part in (p.strip() for p in text.split(",")):
                key_id, sep, value = part.partition(":")
                if not sep:
                    raise KeyRingError("trousseau illisible : attendu « id:clé-base64,… »")
                entries.append((key_id, value))
            if not entries:
                raise KeyRingError("trousseau illisible : attendu « id:clé-base64,… »")
            active = entries[0][0].strip()
        keys: dict[str, bytes] = {}
        for raw_id, value in entries:
            key_id = _check_key_id(raw_id)
            if key_id in keys:
                raise KeyRingError(f"l'identifiant de clé {key_id!r} apparaît deux fois")
            keys[key_id] = _decode_key(key_id, value)
        if active not in keys:
            raise KeyRingError(f"la clé active {active!r} n'est pas dans le trousseau")
        return cls(active_id=active, keys=keys)

    @staticmethod
    def generate_entry(key_id: str) -> str:
        return f"{key_id}:{base64.b64encode(os.urandom(KEY_BYTES)).decode()}"

    def kek(self, kek_id: str) -> bytes:
        try:
            return self.keys[kek_id]
        except KeyError:
            raise UnknownKey(f"KEK {kek_id!r} absente du trousseau") from None

    def wrap(self, data_key: bytes) -> tuple[str, bytes]:
        return self.active_id, aes_key_wrap(self.keys[self.active_id], data_key)

    def unwrap(self, kek_id: str, wrapped: bytes) -> bytes:
        try:
            return aes_key_unwrap(self.kek(kek_id), wrapped)
        except InvalidUnwrap:
            raise TamperedCiphertext("clé de données altérée ou KEK erronée") from None


def _check_key_id(raw: str) -> str:
    # The id is stored beside every wrapped data key (data_keys.kek_id, 32 characters).
    key_id = raw.strip()
    if not KEY_ID_RE.fullmatch(key_id):
        raise KeyRingError(
            f"identifiant de clé {key_id!r} invalide : 1 à 32 caractères parmi "
            "lettres, chiffres, « . », « _ » et « - »"
        )
    return key_id


def _decode_key(key_id: str, value: str) -> bytes:
    try:
        key = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyRingError(f"clé {key_id!r} : base64 invalide") from None
    if len(key) != KEY_BYTES:
        raise KeyRingError(f"clé {key_id!r} : 32 octets attendus, {len(key)} reçus")
    return key


def associated_data(
    *, table: str, column: str, row_id: uuid.UUID, beneficiary_id: uuid.UUID
) -> bytes:
    return f"carnet:v1|{table}|{column}|{row_id}|{beneficiary_id}".encode()


class FieldCrypto:
    """Seals and opens personal fields; one instance per application, built from settings."""

    def __init__(self, ring: KeyRing, blind_index_master: bytes) -> None:
        self.ring = ring
        self._blind_index_master = blind_index_master

    # -- data keys ---------------------------------------------------------------------
    def ensure_data_key(
        self, db: Session, *, beneficiary_id: uuid.UUID, departement_id: uuid.UUID
    ) -> bytes:
        row = db.get(DataKey, beneficiary_id)
        if row is None:
            data_key = AESGCM.generate_key(bit_length=256)
            kek_id, wrapped = self.ring.wrap(data_key)
            db.add(
                DataKey(
                    beneficiary_id=beneficiary_id,
                    departement_id=departement_id,
                    kek_id=kek_id,
                    wrapped_key=wrapped,
                )
            )
            return data_key
        return self._unwrap_row(row)

    def _data_key(self, db: Session, beneficiary_id: uuid.UUID) -> bytes:
        row = db.get(DataKey, beneficiary_id)
        if row is None:
            raise UnknownKey("aucune clé de données pour cette personne")
        return self._unwrap_row(row)

    def _unwrap_row(self, row: DataKey) -> bytes:
        if row.shredded_at is not None or row.wrapped_key is None or row.kek_id is None:
            raise KeyShredded("données effacées (clé détruite)")
        return self.ring.unwrap(row.kek_id, row.wrapped_key)

    # -- fields ------------------------------------------------------------------------
    def seal(
        self,
        db: Session,
        *,
        beneficiary_id: uuid.UUID,
        departement_id: uuid.UUID,
        table: str,
        column: str,
        row_id: uuid.UUID,
        plaintext: str,
    ) -> bytes:
        return self.seal_bytes(
            db,
            beneficiary_id=beneficiary_id,
            departement_id=departement_id,
            table=table,
            column=column,
            row_id=row_id,
            plaintext=plaintext.encode(),
        )

    def open(
        self,
        db: Session,
        *,
        beneficiary_id: uuid.UUID,
        table: str,
        column: str,
        row_id: uuid.UUID,
        sealed: bytes,
    ) -> str:
        return self.open_bytes(
            db,
            beneficiary_id=beneficiary_id,
            table=table,
            column=column,
            row_id=row_id,
            sealed=sealed,
        ).decode()

    def seal_bytes(
        self,
        db: Session,
        *,
        beneficiary_id: uuid.UUID,
        departement_id: uuid.UUID,
        table: str,
        column: str,
        row_id: uuid.UUID,
        plaintext: bytes,
    ) -> bytes:
        """Seal a field (text encoded by `seal`, or a file) under the person's data key."""
        data_key = self.ensure_data_key(
            db, beneficiary_id=beneficiary_id, departement_id=departement_id
        )
        nonce = os.urandom(NONCE_BYTES)
        aad = associated_data(
            table=table, column=column, row_id=row_id, beneficiary_id=beneficiary_id
        )
        return FORMAT_VERSION + nonce + AESGCM(data_key).encrypt(nonce, plaintext, aad)

    def open_bytes(
        self,
        db: Session,
        *,
        beneficiary_id: uuid.UUID,
        table: str,
        column: str,
        row_id: uuid.UUID,
        sealed: bytes,
    ) -> bytes:
        """Raises KeyShredded when the person's key is gone, TamperedCiphertext when the
        ciphertext does not open under it (altered, or copied from another row)."""
        if not sealed.startswith(FORMAT_VERSION) or len(sealed) < 1 + NONCE_BYTES + 16:
            raise TamperedCiphertext("format de chiffré inconnu")
        data_key = self._data_key(db, beneficiary_id)
        nonce, body = sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :]
        aad = associated_data(
            table=table, column=column, row_id=row_id, beneficiary_id=beneficiary_id
        )
        try:
            return AESGCM(data_key).decrypt(nonce, body, aad)
        except InvalidTag:
            raise TamperedCiphertext("chiffré altéré ou déplacé") from None

    def shred(self, db: Session, *, beneficiary_id: uuid.UUID) -> None:
        """Destroy the person's data key: every field sealed under it becomes unreadable."""
        row = db.get(DataKey, beneficiary_id)
        if row is None:
            return
        row.wrapped_key = None
        row.kek_id = None
        row.shredded_at = clock.now()

    def rotate(self, db: Session, *, batch_size: int = 1000) -> int:
        """Re-wrap every data key not under the active KEK; returns how many were re-wrapped."""
        count = 0
        while True:
            rows = db.scalars(
                select(DataKey)
                .where(DataKey.kek_id.is_not(None), DataKey.kek_id != self.ring.active_id)
                .limit(batch_size)
            ).all()
            if not rows:
                return count
            for row in rows:
                data_key = self._unwrap_row(row)
                row.kek_id, row.wrapped_key = self.ring.wrap(data_key)
                row.rotated_at = clock.now()
            db.flush()
            count += len(rows)

    # -- secrets not tied to a person (TOTP seeds) ---------------------------------------
    def seal_secret(self, plaintext: bytes, *, purpose: str) -> bytes:
        kek_id, kek = self.ring.active_id, self.ring.keys[self.ring.active_id]
        nonce = os.urandom(NONCE_BYTES)
        header = kek_id.encode()
        body = AESGCM(kek).encrypt(nonce, plaintext, f"carnet:secret:{purpose}".encode())
        return FORMAT_VERSION + bytes([len(header)]) + header + nonce + body

    def open_secret(self, sealed: bytes, *, purpose: str) -> bytes:
        if not sealed.startswith(FORMAT_VERSION) or len(sealed) < 2:
            raise TamperedCiphertext("format de secret inconnu")
        size = sealed[1]
        if len(sealed) < 2 + size + NONCE_BYTES + 16:
            raise TamperedCiphertext("format de secret inconnu")
        kek_id = sealed[2 : 2 + size].decode()
        nonce = sealed[2 + size : 2 + size + NONCE_BYTES]
        body = sealed[2 + size + NONCE_BYTES :]
        try:
            return AESGCM(self.ring.kek(kek_id)).decrypt(
                nonce, body, f"carnet:secret:{purpose}".encode()
            )
        except InvalidTag:
            raise TamperedCiphertext("secret altéré") from None

    # -- blind index -------------------------------------------------------------------
    def blind_index(self, *, departement_id: uuid.UUID, nir: str) -> bytes:
        """HMAC of the normalised NIR under the département's own index key."""
        normalised = normalise_nir(nir)
        key = HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=b"carnet:nir-blind-index:v1",
            info=departement_id.bytes,
        ).derive(self._blind_index_master)
        return hmac.new(key, normalised.encode(), hashlib.sha256).digest()


def normalise_nir(value: str) -> str:
    """Strip spaces and dots, upper-case Corsica's 2A/2B, check the control key."""
    compact = stdnum_nir.compact(value or "")
    try:
        return str(stdnum_nir.validate(compact))
    except StdnumValidationError as exc:
        if len(compact) != 15:
            raise InvalidNir("Le NIR doit compter 15 caractères, clé comprise.") from exc
        if isinstance(exc, InvalidChecksum):
            raise InvalidNir(
                "Ce NIR n'est pas valide : la clé de contrôle ne correspond pas."
            ) from exc
        raise InvalidNir(
            "Ce NIR n'est pas valide : il ne contient que des chiffres, sauf 2A ou 2B "
            "pour un département de Corse."
        ) from exc


_current: FieldCrypto | None = None


def install(instance: FieldCrypto) -> None:
    """Called once by the app factory or the CLI, from validated settings."""
    # One process-wide instance, built from settings.
    global _current
    _current = instance


def current() -> FieldCrypto:
    if _current is None:
        raise CryptoError("chiffrement non initialisé : create_app() n'a pas été appelé")
    return _current
