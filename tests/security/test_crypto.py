"""Field encryption: AES-256-GCM under a data key per person, wrapped by the KEK ring;
associated data binding; rotation; crypto-shredding; the NIR blind index; and the rule
that ciphertext is never compared or sorted in SQL."""

from __future__ import annotations

import ast
import base64
import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from carnet.records.models import Beneficiary
from carnet.security import crypto, scoping
from carnet.security.crypto import (
    DataKey,
    FieldCrypto,
    InvalidNir,
    KeyRing,
    KeyRingError,
    KeyShredded,
    TamperedCiphertext,
    UnknownKey,
)
from tests.conftest import SEALED_PREDICATES, TEST_KEK, TEST_KEK_OLD, sealed_in_predicates
from tests.factories import BeneficiaryFactory, DepartementFactory

PROJECT = Path(__file__).resolve().parents[2]
INDEX_MASTER = b"i" * 32
NEW_KEK = "k2027:" + base64.b64encode(b"n" * 32).decode()
NIR = "2 69 05 49 588 157 80"  # the control key of this synthetic NIR is right
NIR_COMPACT = "269054958815780"
CORSICAN_NIR = "1 69 12 2A 123 456 56"


def field_crypto(ring_text: str) -> FieldCrypto:
    return FieldCrypto(KeyRing.parse(ring_text), INDEX_MASTER)


def place(
    db: Session, person: Any, fc: FieldCrypto, text: str, column: str = "nir_sealed"
) -> bytes:
    return fc.seal(
        db,
        beneficiary_id=person.id,
        departement_id=person.departement_id,
        table="beneficiaries",
        column=column,
        row_id=person.id,
        plaintext=text,
    )


def read(db: Session, person: Any, fc: FieldCrypto, sealed: bytes, **where: Any) -> str:
    address = {"table": "beneficiaries", "column": "nir_sealed", "row_id": person.id}
    return fc.open(
        db,
        beneficiary_id=where.pop("beneficiary_id", person.id),
        sealed=sealed,
        **{**address, **where},
    )


@pytest.fixture
def people(db_session: Session) -> tuple[Any, Any]:
    departement = DepartementFactory()
    first = BeneficiaryFactory(departement_id=departement.id)
    second = BeneficiaryFactory(departement_id=departement.id)
    db_session.flush()
    return first, second


# -- sealing --------------------------------------------------------------------------------


def test_a_sealed_field_opens_back(db_session: Session, people: tuple[Any, Any]) -> None:
    person, _ = people
    fc = field_crypto(TEST_KEK)
    sealed = place(db_session, person, fc, "Suivi addictologie, CSAPA de Limoges")
    assert b"CSAPA" not in sealed
    assert read(db_session, person, fc, sealed) == "Suivi addictologie, CSAPA de Limoges"
    # A fresh nonce each time: the same text never gives the same ciphertext.
    assert place(db_session, person, fc, "Suivi addictologie, CSAPA de Limoges") != sealed


def test_each_person_has_one_data_key_wrapped_by_the_active_kek(
    db_session: Session, people: tuple[Any, Any]
) -> None:
    person, _ = people
    fc = field_crypto(TEST_KEK)
    place(db_session, person, fc, "a")
    place(db_session, person, fc, "b", column="notes_sealed")
    db_session.flush()
    keys = db_session.scalars(select(DataKey).where(DataKey.beneficiary_id == person.id)).all()
    assert len(keys) == 1
    assert keys[0].kek_id == "ktest1"
    assert keys[0].wrapped_key is not None
    assert len(keys[0].wrapped_key) == 40  # AES key wrap of 32 bytes


@pytest.mark.parametrize(
    "moved",
    [
        pytest.param({"table": "journeys"}, id="other-table"),
        pytest.param({"column": "notes_sealed"}, id="other-column"),
        pytest.param({"row_id": uuid.UUID(int=7)}, id="other-row"),
    ],
)
def test_a_ciphertext_moved_elsewhere_does_not_open(
    db_session: Session, people: tuple[Any, Any], moved: dict[str, Any]
) -> None:
    person, _ = people
    fc = field_crypto(TEST_KEK)
    sealed = place(db_session, person, fc, "269054958815780")
    with pytest.raises(TamperedCiphertext, match="altéré ou déplacé"):
        read(db_session, person, fc, sealed, **moved)


def test_a_ciphertext_copied_into_another_persons_row_does_not_open(
    db_session: Session, people: tuple[Any, Any]
) -> None:
    first, second = people
    fc = field_crypto(TEST_KEK)
    sealed = place(db_session, first, fc, "269054958815780")
    place(db_session, second, fc, "169122A12345656")
    with pytest.raises(TamperedCiphertext):
        read(db_session, second, fc, sealed, row_id=second.id)


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda b: b[:-1] + bytes([b[-1] ^ 1]), id="bit-flipped"),
        pytest.param(lambda b: b"\x02" + b[1:], id="unknown-version"),
        pytest.param(lambda b: b[:20], id="truncated"),
        pytest.param(lambda b: b"", id="empty"),
    ],
)
def test_a_damaged_ciphertext_is_refused(
    db_session: Session, people: tuple[Any, Any], damage: Any
) -> None:
    person, _ = people
    fc = field_crypto(TEST_KEK)
    sealed = place(db_session, person, fc, "texte")
    with pytest.raises(TamperedCiphertext):
        read(db_session, person, fc, damage(sealed))


def test_opening_without_a_data_key_is_a_named_error(
    db_session: Session, people: tuple[Any, Any]
) -> None:
    person, _ = people
    with pytest.raises(UnknownKey):
        read(db_session, person, field_crypto(TEST_KEK), b"\x01" + bytes(40))


def test_the_application_key_ring_comes_from_the_settings(app: Any) -> None:
    assert crypto.current().ring.active_id == "ktest1"


# -- rotation -------------------------------------------------------------------------------


def test_rotation_rewraps_every_data_key_and_the_old_kek_can_then_go(
    db_session: Session, people: tuple[Any, Any]
) -> None:
    first, second = people
    before = field_crypto(TEST_KEK_OLD)
    sealed = {
        person.id: place(db_session, person, before, f"nir de {person.id}") for person in people
    }
    db_session.flush()

    during = field_crypto(f"{NEW_KEK},{TEST_KEK_OLD}")  # new key first: it is the active one
    assert during.ring.active_id == "k2027"
    assert during.rotate(db_session) >= 2
    keys = db_session.scalars(
        select(DataKey).where(DataKey.beneficiary_id.in_([first.id, second.id]))
    ).all()
    assert {k.kek_id for k in keys} == {"k2027"}
    assert all(k.rotated_at is not None for k in keys)
    assert during.rotate(db_session) == 0  # nothing left under the old key

    after = field_crypto(NEW_KEK)  # the old KEK removed from the ring
    for person in people:
        assert read(db_session, person, after, sealed[person.id]) == f"nir de {person.id}"
    with pytest.raises(UnknownKey, match="k2027"):
        read(db_session, first, before, sealed[first.id])


def test_rotation_needs_the_old_key_in_the_ring(
    db_session: Session, people: tuple[Any, Any]
) -> None:
    person, _ = people
    place(db_session, person, field_crypto(TEST_KEK_OLD), "x")
    db_session.flush()
    with pytest.raises(UnknownKey, match="ktest0"):
        field_crypto(NEW_KEK).rotate(db_session)


# -- crypto-shredding -----------------------------------------------------------------------


def test_shredding_makes_the_data_unreadable_for_good(
    db_session: Session, people: tuple[Any, Any]
) -> None:
    person, other = people
    fc = field_crypto(f"{NEW_KEK},{TEST_KEK}")
    sealed = place(db_session, person, fc, "269054958815780")
    kept = place(db_session, other, fc, "169122A12345656")
    fc.shred(db_session, beneficiary_id=person.id)
    db_session.flush()

    with pytest.raises(KeyShredded, match="données effacées"):
        read(db_session, person, fc, sealed)
    with pytest.raises(KeyShredded):
        place(db_session, person, fc, "nouvelle donnée")
    row = db_session.get(DataKey, person.id)
    assert row is not None
    assert (row.wrapped_key, row.kek_id) == (None, None)
    assert row.shredded_at is not None
    # Rotation passes over the destroyed key, and other people are untouched.
    rotator = field_crypto(f"{TEST_KEK},{NEW_KEK}")
    assert rotator.rotate(db_session) >= 1
    assert db_session.get(DataKey, person.id).kek_id is None  # type: ignore[union-attr]
    assert read(db_session, other, rotator, kept) == "169122A12345656"


def test_shredding_someone_without_a_key_does_nothing(
    db_session: Session, people: tuple[Any, Any]
) -> None:
    person, _ = people
    field_crypto(TEST_KEK).shred(db_session, beneficiary_id=person.id)
    assert db_session.get(DataKey, person.id) is None


# -- secrets that belong to no person (TOTP seeds) ------------------------------------------


def test_a_secret_is_sealed_for_one_purpose() -> None:
    fc = field_crypto(TEST_KEK)
    sealed = fc.seal_secret(b"JBSWY3DPEHPK3PXP", purpose="totp")
    assert fc.open_secret(sealed, purpose="totp") == b"JBSWY3DPEHPK3PXP"
    with pytest.raises(TamperedCiphertext):
        fc.open_secret(sealed, purpose="recovery")
    for damaged in (sealed[:1], sealed[:10], b"\x02" + sealed[1:], b""):
        with pytest.raises(TamperedCiphertext):
            fc.open_secret(damaged, purpose="totp")


def test_a_secret_opens_while_its_kek_stays_in_the_ring() -> None:
    sealed = field_crypto(TEST_KEK).seal_secret(b"seed", purpose="totp")
    assert field_crypto(f"{NEW_KEK},{TEST_KEK}").open_secret(sealed, purpose="totp") == b"seed"
    with pytest.raises(UnknownKey):
        field_crypto(NEW_KEK).open_secret(sealed, purpose="totp")


# -- the NIR blind index --------------------------------------------------------------------


def test_the_blind_index_ignores_spacing_and_case() -> None:
    fc = field_crypto(TEST_KEK)
    here = uuid.uuid4()
    index = fc.blind_index(departement_id=here, nir=NIR)
    assert len(index) == 32
    assert fc.blind_index(departement_id=here, nir=NIR_COMPACT) == index
    assert fc.blind_index(departement_id=here, nir="2.69.05.49.588.157.80") == index
    assert fc.blind_index(departement_id=here, nir=NIR) == index  # stable
    corsican = fc.blind_index(departement_id=here, nir=CORSICAN_NIR)
    assert fc.blind_index(departement_id=here, nir="169122a12345656") == corsican
    assert corsican != index


def test_the_blind_index_differs_per_departement() -> None:
    fc = field_crypto(TEST_KEK)
    assert fc.blind_index(departement_id=uuid.uuid4(), nir=NIR) != fc.blind_index(
        departement_id=uuid.uuid4(), nir=NIR
    )


def test_the_blind_index_key_is_its_own_and_not_the_kek() -> None:
    here = uuid.uuid4()
    index = field_crypto(TEST_KEK).blind_index(departement_id=here, nir=NIR)
    assert field_crypto(NEW_KEK).blind_index(departement_id=here, nir=NIR) == index
    other_master = FieldCrypto(KeyRing.parse(TEST_KEK), b"j" * 32)
    assert other_master.blind_index(departement_id=here, nir=NIR) != index


def test_normalise_nir_accepts_corsica() -> None:
    assert crypto.normalise_nir(CORSICAN_NIR) == "169122A12345656"
    assert crypto.normalise_nir("1 69 12 2b 123 456 83") == "169122B12345683"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "2 69 05 49 588 157 81",
            "Ce NIR n'est pas valide : la clé de contrôle ne correspond pas.",
        ),
        (
            "1 69 12 2A 123 456 57",
            "Ce NIR n'est pas valide : la clé de contrôle ne correspond pas.",
        ),
        ("2 69 05 49 588", "Le NIR doit compter 15 caractères, clé comprise."),
        ("", "Le NIR doit compter 15 caractères, clé comprise."),
        ("2690549588157AB", "Ce NIR n'est pas valide : il ne contient que des chiffres"),
    ],
)
def test_a_bad_nir_is_refused_in_french(value: str, message: str) -> None:
    with pytest.raises(InvalidNir) as refusal:
        crypto.normalise_nir(value)
    assert str(refusal.value).startswith(message)
    with pytest.raises(InvalidNir):
        field_crypto(TEST_KEK).blind_index(departement_id=uuid.uuid4(), nir=value)


# -- the key ring ---------------------------------------------------------------------------


def test_a_key_ring_reads_both_notations() -> None:
    listed = KeyRing.parse(f" {NEW_KEK} , {TEST_KEK} ")
    assert listed.active_id == "k2027"
    assert set(listed.keys) == {"k2027", "ktest1"}
    as_json = KeyRing.parse(
        json.dumps(
            {
                "active": "ktest1",
                "keys": {"ktest1": TEST_KEK.split(":")[1], "k2027": NEW_KEK.split(":")[1]},
            }
        )
    )
    assert as_json.active_id == "ktest1"
    assert as_json.keys == listed.keys
    generated = KeyRing.parse(KeyRing.generate_entry("k2028a"))
    assert generated.active_id == "k2028a"
    assert len(generated.keys["k2028a"]) == 32


def test_a_key_ring_never_shows_its_keys() -> None:
    ring = KeyRing.parse(NEW_KEK)
    assert NEW_KEK.split(":")[1] not in repr(ring)
    assert "bm5u" not in repr(FieldCrypto(ring, INDEX_MASTER).ring)


SHORT = base64.b64encode(b"s" * 16).decode()
GOOD = base64.b64encode(b"g" * 32).decode()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "trousseau illisible : attendu « id:clé-base64,… »"),
        ("k1", "trousseau illisible : attendu « id:clé-base64,… »"),
        (f"k1:{GOOD},", "trousseau illisible"),
        ("k1:pas*du*base64", "clé 'k1' : base64 invalide"),
        (f"k1:{SHORT}", "clé 'k1' : 32 octets attendus, 16 reçus"),
        (f"k1:{GOOD},k1:{GOOD}", "l'identifiant de clé 'k1' apparaît deux fois"),
        (f"{'k' * 33}:{GOOD}", "1 à 32 caractères"),
        (f"clé 1:{GOOD}", "identifiant de clé 'clé 1' invalide"),
        (f":{GOOD}", "identifiant de clé '' invalide"),
        (json.dumps({"active": "k9", "keys": {"k1": GOOD}}), "la clé active 'k9' n'est pas dans"),
        ('{"active": "k1"}', "trousseau JSON illisible : attendu {active, keys}"),
        ('{"active": "k1", "keys": ["k1"]}', "trousseau JSON illisible"),
        ("{pas du json", "trousseau JSON illisible"),
    ],
)
def test_a_malformed_key_ring_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(KeyRingError) as refusal:
        KeyRing.parse(text)
    assert message in str(refusal.value)


# -- ciphertext never filters or sorts ------------------------------------------------------

QUERY_METHODS = {
    "where",
    "filter",
    "filter_by",
    "order_by",
    "group_by",
    "having",
    "join",
    "outerjoin",
    "distinct",
    "on_conflict_do_update",
}


def _sealed_names(node: ast.AST) -> list[str]:
    found = []
    for child in ast.walk(node):
        if isinstance(child, ast.Attribute) and child.attr.endswith("_sealed"):
            found.append(child.attr)
        elif isinstance(child, ast.Name) and child.id.endswith("_sealed"):
            found.append(child.id)
        elif (
            isinstance(child, ast.Constant)
            and isinstance(child.value, str)
            and "_sealed" in child.value
        ):
            found.append(child.value)
        elif isinstance(child, ast.keyword) and (child.arg or "").endswith("_sealed"):
            found.append(str(child.arg))
    return found


# A string is SQL when it starts like a statement; prose ("On a stale copy…") is not.
SQL = re.compile(r"\s*(SELECT|WITH|UPDATE|DELETE|INSERT)\b", re.IGNORECASE)


def sealed_in_query_calls(source: str) -> list[tuple[int, str]]:
    """Calls of .where/.filter/.order_by… whose arguments name a `*_sealed` column, and SQL
    strings whose predicates do."""
    hits = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in QUERY_METHODS
        ):
            hits += [
                (node.lineno, name)
                for arg in (*node.args, *node.keywords)
                for name in _sealed_names(arg)
            ]
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.match(node.value):
            hits += [(node.lineno, clause) for clause in sealed_in_predicates(node.value)]
    return hits


def test_no_code_filters_or_sorts_on_an_encrypted_column() -> None:
    offending = {}
    sources = sorted((PROJECT / "carnet").rglob("*.py"))
    assert len(sources) > 20
    for path in sources:
        hits = sealed_in_query_calls(path.read_text(encoding="utf-8"))
        if hits:
            offending[str(path.relative_to(PROJECT))] = hits
    assert offending == {}


@pytest.mark.parametrize(
    "source",
    [
        "select(Beneficiary).where(Beneficiary.nir_sealed == value)",
        "query.filter(Beneficiary.notes_sealed.is_not(None))",
        "select(Note).order_by(Note.body_sealed)",
        "session.query(Beneficiary).filter_by(nir_sealed=value)",
        "text('SELECT id FROM beneficiaries WHERE nir_sealed = :v')",
        "text('SELECT id FROM notes ORDER BY body_sealed DESC')",
        "conn.exec_driver_sql('  select id from notes where body_sealed is not null')",
    ],
)
def test_the_static_check_catches_each_form(source: str) -> None:
    assert sealed_in_query_calls(source) != []


def test_the_static_check_lets_reading_and_writing_through() -> None:
    source = (
        "select(Beneficiary.nir_sealed).where(Beneficiary.nir_bidx == index)\n"
        "row.nir_sealed = sealed\n"
        "text('UPDATE beneficiaries SET nir_sealed = :v WHERE id = :id')\n"
        "DOC = 'On a stale copy the body (body_sealed) is never used in WHERE.'\n"
    )
    assert sealed_in_query_calls(source) == []


@pytest.mark.parametrize(
    ("statement", "flagged"),
    [
        ("SELECT b.id, b.nir_sealed FROM beneficiaries AS b WHERE b.nir_bidx = ?", False),
        ("UPDATE beneficiaries SET nir_sealed=? WHERE beneficiaries.id = ?", False),
        ("INSERT INTO notes (id, body_sealed) VALUES (?, ?)", False),
        ("SELECT id FROM beneficiaries WHERE beneficiaries.nir_sealed = ?", True),
        ("SELECT id FROM notes ORDER BY notes.body_sealed DESC LIMIT 5", True),
        ("SELECT id FROM notes JOIN x ON x.body_sealed = notes.body_sealed", True),
        ("SELECT id FROM notes GROUP BY notes.body_sealed", True),
        ("select id from notes where notes.id in (select id from n where n.body_sealed = ?)", True),
    ],
)
def test_the_sql_watch_reads_predicates_only(statement: str, flagged: bool) -> None:
    assert bool(sealed_in_predicates(statement)) is flagged


def test_the_sql_watch_sees_every_statement(db_session: Session, people: tuple[Any, Any]) -> None:
    db_session.scalars(select(Beneficiary.id).where(Beneficiary.nir_sealed.is_not(None))).all()
    assert len(SEALED_PREDICATES) == 1
    SEALED_PREDICATES.clear()  # the deliberate one above


def test_a_nir_is_found_by_its_blind_index_only(
    db_session: Session, people: tuple[Any, Any]
) -> None:
    """Store, search and show a NIR the way services do, with every statement watched."""
    person, other = people
    fc = crypto.current()
    for someone, nir in ((person, NIR), (other, CORSICAN_NIR)):
        someone.nir_sealed = place(db_session, someone, fc, crypto.normalise_nir(nir))
        someone.nir_bidx = fc.blind_index(departement_id=someone.departement_id, nir=nir)
    db_session.flush()
    db_session.expunge_all()

    wanted = fc.blind_index(departement_id=person.departement_id, nir=NIR_COMPACT)
    with scoping.scoped_to(person.departement_id):
        found = db_session.scalars(
            select(Beneficiary)
            .where(Beneficiary.nir_bidx == wanted)
            .order_by(Beneficiary.search_name)
        ).all()
        assert [b.id for b in found] == [person.id]
        assert read(db_session, found[0], fc, found[0].nir_sealed) == NIR_COMPACT
    assert SEALED_PREDICATES == []
