"""Managing the follow-up group: invite, end with a reason, change of référent."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from carnet import db
from carnet.notifications.models import Notification
from carnet.records.models import GroupMembership, TimelineEvent
from carnet.records.services import LAST_REFERENT_MESSAGE
from carnet.security import scoping
from carnet.security.permissions import GroupRole, Outcome
from tests.records.world import (
    audit_rows,
    build_world,
    count,
    send,
    snapshot,
    text,
    token,
)


@pytest.fixture
def world(db_session):
    return build_world()


def _group_url(world, action=""):
    suffix = f"/{action}" if action else ""
    return f"/personnes/{world.person.id}/groupe-de-suivi{suffix}"


def _active(world):
    with scoping.unscoped():
        return list(
            db.session().scalars(
                select(GroupMembership).where(
                    GroupMembership.journey_id == world.journey.id,
                    GroupMembership.ended_at.is_(None),
                )
            )
        )


def _select(page, select_id):
    return page.split(f'id="{select_id}"', 1)[1].split("</select>", 1)[0]


def _optgroup(select, label):
    """The options of one <optgroup> of a <select>, as (value, text) pairs."""
    import re

    block = select.split(f'<optgroup label="{label}">', 1)[1].split("</optgroup>", 1)[0]
    return re.findall(r'<option value="([^"]+)"[^>]*>([^<]+)</option>', block)


def _notifications(account_id):
    with scoping.unscoped():
        return [
            n.kind
            for n in db.session().scalars(
                select(Notification).where(Notification.recipient_account_id == account_id)
            )
        ]


def test_referent_sees_the_forms_a_reader_does_not(make_client, world, login_as):
    referent = make_client()
    login_as(referent, world.referent.account, world.referent.membership)
    page = text(referent.get(_group_url(world)))
    assert "Inviter un professionnel" in page
    assert "Changer de référent" in page
    invite = _select(page, "invite-membership")
    assert "Colette Collègue" in invite  # an invitable professional of the département
    assert "Fabien Ailleurs" not in invite  # another département's professional is not
    assert "Malik Conseiller" not in invite  # already in the group, named on the page
    assert "Romane Référente" not in invite  # nobody invites himself or herself
    successor = _select(page, "referent-membership")
    assert "Malik Conseiller" in successor
    assert "Romane Référente" not in successor
    # The sensible structure's member is not named among the members, and the lists name
    # no structure that would tell what the anonymous member's place reveals.
    members = page.split("Membres actuels", 1)[1].split("Inviter un professionnel", 1)[0]
    assert "Hélène" not in members
    assert "Structure partenaire (nom protégé)" in members
    assert "CSAPA" not in page

    member = make_client()
    login_as(member, world.ml_member.account, world.ml_member.membership)
    response = member.get(_group_url(world))
    assert response.status_code == 200
    assert "Inviter un professionnel" not in text(response)
    assert "Retirer du groupe" not in text(response)


def test_referent_invites_a_member(client, world, login_as):
    login_as(client, world.referent.account, world.referent.membership)
    csrf = token(client)
    response = send(
        client,
        _group_url(world, "inviter"),
        {
            "membership_id": str(world.colleague.membership.id),
            "role": "member",
            "reason": "Appui sur le logement",
        },
        csrf=csrf,
    )
    assert response.status_code == 302
    added = [m for m in _active(world) if m.account_id == world.colleague.id]
    assert [(m.role, m.start_reason, m.is_break_glass) for m in added] == [
        (GroupRole.MEMBER, "Appui sur le logement", False)
    ]
    rows = audit_rows(beneficiary_id=world.person.id, tag="records:group:member_added")
    assert [(r.section, r.outcome, r.object_id) for r in rows] == [
        ("group:write", Outcome.ALLOWED, added[0].id)
    ]
    assert (
        count(TimelineEvent, beneficiary_id=world.person.id, kind="records:group:member_added") == 1
    )
    assert _notifications(world.colleague.id) == ["records:group:invited"]
    assert _notifications(world.person_account.id) == ["records:group:member_added"]
    assert _notifications(world.referent.id) == []  # the actor is not told of his own act
    page = text(client.get(_group_url(world)))
    assert "Le professionnel a été ajouté au groupe de suivi" in page
    assert "Colette Collègue" in page.split("Membres actuels", 1)[1].split("Inviter", 1)[0]


def test_a_second_referent_cannot_be_invited(client, world, login_as):
    login_as(client, world.referent.account, world.referent.membership)
    csrf = token(client)
    before = snapshot()
    response = send(
        client,
        _group_url(world, "inviter"),
        {
            "membership_id": str(world.colleague.membership.id),
            "role": "referent",
            "reason": "Prise de relais",
        },
        csrf=csrf,
    )
    assert response.status_code == 409
    assert "Cette personne a déjà un référent unique" in text(response)
    assert "Revenir au groupe de suivi" in text(response)
    assert snapshot() == before
    assert audit_rows(tag="records:group:member_added") == []


def test_member_is_ended_with_a_reason(client, world, login_as):
    login_as(client, world.referent.account, world.referent.membership)
    csrf = token(client)
    response = send(
        client,
        _group_url(world, "retirer"),
        {"membership_id": str(world.ml_row.id), "reason": "Fin de l'accompagnement jeunes"},
        csrf=csrf,
    )
    assert response.status_code == 302
    with scoping.unscoped():
        row = db.session().get(GroupMembership, world.ml_row.id)
        db.session().refresh(row)
    assert row.ended_at is not None
    assert row.end_reason == "Fin de l'accompagnement jeunes"
    assert _notifications(world.ml_member.id) == ["records:group:removed"]
    assert _notifications(world.person_account.id) == ["records:group:member_ended"]
    history = text(client.get(_group_url(world))).split("Anciens membres", 1)[1]
    assert "Malik Conseiller" in history
    assert "Fin de l'accompagnement jeunes" in history


def test_ending_the_last_referent_is_refused(client, world, login_as):
    login_as(client, world.referent.account, world.referent.membership)
    csrf = token(client)
    before = snapshot()
    response = send(
        client,
        _group_url(world, "retirer"),
        {"membership_id": str(world.referent_row.id), "reason": "Départ en congé"},
        csrf=csrf,
    )
    assert response.status_code == 409
    assert LAST_REFERENT_MESSAGE in text(response)
    assert snapshot() == before
    assert [m.role for m in _active(world)].count(GroupRole.REFERENT) == 1
    assert audit_rows(tag="records:group:member_ended") == []


def test_change_of_referent_ends_the_old_and_starts_the_new(client, world, login_as):
    login_as(client, world.referent.account, world.referent.membership)
    csrf = token(client)
    response = send(
        client,
        _group_url(world, "referent"),
        {"membership_id": str(world.colleague.membership.id), "reason": "Départ du référent"},
        csrf=csrf,
    )
    assert response.status_code == 302
    referents = [m for m in _active(world) if m.role is GroupRole.REFERENT]
    assert [m.account_id for m in referents] == [world.colleague.id]
    with scoping.unscoped():
        old = db.session().get(GroupMembership, world.referent_row.id)
        db.session().refresh(old)
    assert old.ended_at is not None
    assert old.end_reason == "Départ du référent"
    assert _notifications(world.colleague.id) == ["records:group:referent_assigned"]
    assert _notifications(world.person_account.id) == ["records:group:referent_changed"]
    rows = audit_rows(beneficiary_id=world.person.id, tag="records:group:referent_changed")
    assert [r.outcome for r in rows] == [Outcome.ALLOWED]


def test_a_member_becoming_referent_leaves_his_member_place(client, world, login_as):
    login_as(client, world.referent.account, world.referent.membership)
    response = send(
        client,
        _group_url(world, "referent"),
        {"membership_id": str(world.ml_member.membership.id), "reason": "Projet emploi jeune"},
    )
    assert response.status_code == 302
    mine = [m for m in _active(world) if m.account_id == world.ml_member.id]
    assert [m.role for m in mine] == [GroupRole.REFERENT]


def test_orientation_officer_designates_a_referent(client, world, login_as):
    login_as(client, world.officer.account, world.officer.membership)
    url = f"/personnes/{world.other_person.id}/groupe-de-suivi"
    page = text(client.get(url))
    assert "Aucun référent unique n'est encore désigné." in page
    assert "Désigner le référent unique" in page
    response = send(
        client,
        f"{url}/referent",
        {"membership_id": str(world.colleague.membership.id), "reason": "Orientation sociale"},
    )
    assert response.status_code == 302
    assert _notifications(world.colleague.id) == ["records:group:referent_assigned"]
    assert _notifications(world.other_person_account.id) == ["records:group:referent_assigned"]


def test_a_reader_cannot_change_the_group(client, world, login_as):
    login_as(client, world.ml_member.account, world.ml_member.membership)
    csrf = token(client)
    before = snapshot()
    response = send(
        client,
        _group_url(world, "inviter"),
        {
            "membership_id": str(world.colleague.membership.id),
            "role": "member",
            "reason": "Je m'invite",
        },
        csrf=csrf,
    )
    assert response.status_code == 403
    assert snapshot() == before
    rows = audit_rows(beneficiary_id=world.person.id, section="group:write")
    assert [r.outcome for r in rows] == [Outcome.DENIED]


def test_another_departements_professional_cannot_be_invited(client, world, login_as):
    login_as(client, world.referent.account, world.referent.membership)
    before = snapshot()
    response = send(
        client,
        _group_url(world, "inviter"),
        {
            "membership_id": str(world.foreign.membership.id),
            "role": "member",
            "reason": "Déménagement",
        },
    )
    assert response.status_code == 422
    assert "Ce professionnel n'est pas disponible" in text(response)
    assert snapshot() == before


@pytest.mark.parametrize(
    ("action", "data"),
    [
        ("inviter", {}),
        ("inviter", {"membership_id": "pas-un-uuid", "role": "member", "reason": "Motif valable"}),
        ("inviter", {"membership_id": "{colleague}", "role": "chef", "reason": "Motif valable"}),
        ("inviter", {"membership_id": "{colleague}", "role": "member", "reason": "x"}),
        ("inviter", {"membership_id": "{colleague}", "role": "member", "reason": "x" * 501}),
        (
            "inviter",
            {
                "membership_id": "{colleague}",
                "role": "member",
                "reason": "Motif",
                "is_break_glass": "1",
            },
        ),
        (
            "inviter",
            {
                "membership_id": "{colleague}",
                "role": "orientation_officer",
                "reason": "Motif valable",
            },
        ),
        ("retirer", {"membership_id": "{ml_row}"}),
        (
            "retirer",
            {"membership_id": "00000000-0000-4000-8000-000000000000", "reason": "Motif valable"},
        ),
        ("retirer", {"membership_id": "", "reason": "   "}),
        ("referent", {"reason": "Motif valable"}),
        (
            "referent",
            {"membership_id": "{colleague}", "reason": "Motif valable", "departement_id": "x"},
        ),
    ],
)
def test_malformed_group_forms_write_nothing(client, world, login_as, action, data):
    login_as(client, world.referent.account, world.referent.membership)
    ids = {
        "{colleague}": str(world.colleague.membership.id),
        "{ml_row}": str(world.ml_row.id),
    }
    data = {key: ids.get(value, value) for key, value in data.items()}
    csrf = token(client)
    before = snapshot()
    response = send(client, _group_url(world, action), data, csrf=csrf)
    assert response.status_code in (409, 422)
    body = text(response)
    assert "Erreur inattendue" not in body
    assert snapshot() == before
    # A refused write rolls back whole: not even its audit row remains.
    assert audit_rows(section="group:write") == []


# -- nobody adds himself or herself: « bris de glace » is the way in -------------------------


def _health_row(world):
    with scoping.unscoped():
        return db.session().scalar(
            select(GroupMembership).where(GroupMembership.account_id == world.health_member.id)
        )


@pytest.mark.parametrize(
    ("action", "data"),
    [
        ("inviter", {"role": "member", "reason": "Je prends le suivi"}),
        ("inviter", {"role": "orientation_officer", "reason": "Je prends le suivi"}),
        ("referent", {"reason": "Je prends le suivi"}),
    ],
)
def test_orientation_officer_cannot_add_himself_outside_break_glass(
    client, world, login_as, action, data
):
    login_as(client, world.officer.account, world.officer.membership)
    csrf = token(client)
    before = snapshot()
    response = send(
        client,
        _group_url(world, action),
        {"membership_id": str(world.officer.membership.id), **data},
        csrf=csrf,
    )
    body = text(response)
    assert response.status_code == 403
    assert "Vous ne pouvez pas vous inviter vous-même dans un groupe de suivi" in body
    assert "« Rejoindre le groupe de suivi »" in body
    assert f'href="/personnes/{world.person.id}/rejoindre"' in body
    assert snapshot() == before
    assert world.officer.id not in {m.account_id for m in _active(world)}
    rows = audit_rows(beneficiary_id=world.person.id, section="group:write")
    assert [(r.outcome, r.tag, r.actor_account_id) for r in rows] == [
        (Outcome.DENIED, "policy:self_add", world.officer.id)
    ]


def test_the_lists_never_offer_oneself(client, world, login_as):
    login_as(client, world.officer.account, world.officer.membership)
    for person in (world.person, world.other_person):
        page = text(client.get(f"/personnes/{person.id}/groupe-de-suivi"))
        assert "Colette Collègue" in _select(page, "invite-membership")
        assert "Odile Orientation" not in _select(page, "invite-membership")
        assert "Odile Orientation" not in _select(page, "referent-membership")


def test_orientation_officer_cannot_make_himself_referent_of_a_person_without_one(
    client, world, login_as
):
    login_as(client, world.officer.account, world.officer.membership)
    url = f"/personnes/{world.other_person.id}/groupe-de-suivi"
    assert "Désigner le référent unique" in text(client.get(url))
    before = snapshot()
    response = send(
        client,
        f"{url}/referent",
        {"membership_id": str(world.officer.membership.id), "reason": "Je prends le suivi"},
    )
    assert response.status_code == 403
    assert "ni vous désigner référent" in text(response)
    assert f'href="/personnes/{world.other_person.id}/rejoindre"' in text(response)
    assert snapshot() == before
    # The way offered does work: with a written reason, told to all.
    joined = send(
        client,
        f"/personnes/{world.other_person.id}/rejoindre",
        {"reason": "Premier rendez-vous d'orientation demandé par la personne"},
    )
    assert joined.status_code == 302
    assert count(GroupMembership, account_id=world.officer.id, is_break_glass=True) == 1


def test_referent_cannot_invite_himself_again(client, world, login_as):
    login_as(client, world.referent.account, world.referent.membership)
    before = snapshot()
    response = send(
        client,
        _group_url(world, "referent"),
        {"membership_id": str(world.referent.membership.id), "reason": "Motif valable"},
    )
    assert response.status_code == 403
    assert "Vous ne pouvez pas vous inviter vous-même" in text(response)
    assert "/rejoindre" not in text(response)  # already in the group: no way in to offer
    assert snapshot() == before


# -- a sensible structure's member is not given away by the group page ----------------------


def test_sensible_structure_is_listed_alike_on_every_record(client, world, login_as, db_session):
    world.health_member.membership.job_title = "Infirmière en addictologie"
    db_session.flush()
    login_as(client, world.officer.account, world.officer.membership)
    # Sofia is followed by the CSAPA, Yanis is not: the lists do not tell them apart.
    followed = text(client.get(_group_url(world)))
    not_followed = text(client.get(f"/personnes/{world.other_person.id}/groupe-de-suivi"))
    label = "Structure partenaire (nom protégé)"
    for select_id in ("invite-membership", "referent-membership"):
        options = _optgroup(_select(followed, select_id), label)
        assert options == _optgroup(_select(not_followed, select_id), label)
        assert options == [
            (str(world.health_member.membership.id), "Hélène Soignante · Professionnel·le")
        ]
    for page in (followed, not_followed):
        assert "CSAPA" not in page
        assert "Les Tilleuls" not in page
        assert "addictologie" not in page  # a job title may name the structure
        assert "Structure de santé" not in page
    # Structures that are not sensible keep their name.
    assert '<optgroup label="Mission locale de Limoges">' in not_followed


def test_inviting_a_masked_member_already_there_answers_like_an_invitation(client, world, login_as):
    login_as(client, world.referent.account, world.referent.membership)
    csrf = token(client)
    before = snapshot()
    response = send(
        client,
        _group_url(world, "inviter"),
        {
            "membership_id": str(world.health_member.membership.id),
            "role": "member",
            "reason": "Appui sur la santé",
        },
        csrf=csrf,
    )
    assert response.status_code == 302
    assert response.headers["Location"] == _group_url(world)
    page = text(client.get(_group_url(world)))
    assert "Le professionnel a été ajouté au groupe de suivi" in page
    assert "fait déjà partie" not in page
    assert "Hélène" not in page.split("Membres actuels", 1)[1].split("Inviter", 1)[0]
    assert "CSAPA" not in page
    assert snapshot() == before  # nothing to add: the place exists
    assert [m.account_id for m in _active(world)].count(world.health_member.id) == 1


def test_a_named_member_already_there_is_still_a_conflict(client, world, login_as):
    login_as(client, world.referent.account, world.referent.membership)
    response = send(
        client,
        _group_url(world, "inviter"),
        {
            "membership_id": str(world.ml_member.membership.id),
            "role": "member",
            "reason": "Appui emploi",
        },
    )
    assert response.status_code == 409
    assert "Malik Conseiller fait déjà partie du groupe de suivi." in text(response)


def test_designating_the_masked_referent_again_answers_like_a_designation(
    client, world, login_as, db_session
):
    from carnet import clock

    world.referent_row.ended_at = clock.now()
    world.referent_row.end_reason = "Relais pris par la structure de soins"
    db_session.flush()
    health_row = _health_row(world)
    health_row.role = GroupRole.REFERENT
    db_session.flush()
    login_as(client, world.officer.account, world.officer.membership)
    page = text(client.get(_group_url(world)))
    assert "Référent actuel : Professionnel·le, Structure partenaire (nom protégé)." in page
    before = snapshot()
    response = send(
        client,
        _group_url(world, "referent"),
        {"membership_id": str(world.health_member.membership.id), "reason": "Réorientation"},
    )
    assert response.status_code == 302
    page = text(client.get(_group_url(world)))
    assert "Le nouveau référent est désigné" in page
    assert "est déjà le référent" not in page
    assert "Hélène" not in page.split("Membres actuels", 1)[1].split("Inviter", 1)[0]
    assert snapshot() == before
