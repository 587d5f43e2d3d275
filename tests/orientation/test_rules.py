"""The orientation proposal rules, evaluated without a database: each type is reachable,
every factor shows what it weighed, the thresholds cut where they say, what is unknown is
listed, and the document's schema refuses bad rules in French."""

from __future__ import annotations

import dataclasses
import json

import pytest

from carnet.errors import InvalidInput
from carnet.orientation import rules
from carnet.orientation.models import OrientationType
from carnet.orientation.proposal import OpenBarriers, ProposalInputs, describe
from carnet.orientation.rules import DEFAULT_RULES, evaluate
from carnet.records.models import DigitalAutonomy
from carnet.situation.models import EducationLevel

# With the default rules: 3 + 2 + 3 + 1 + 1 = 10 points of employability.
READY = ProposalInputs(
    has_diagnostic=True,
    education_level=EducationLevel.BAC_2,
    digital_autonomy=DigitalAutonomy.AUTONOMOUS,
    has_strengths=True,
    has_skills=True,
    has_rome_project=True,
    dependants=0,
)


def _factors(proposal):
    return [(f.code, f.axis, f.points) for f in proposal.factors]


def _barriers(*themes):
    return tuple(OpenBarriers(code, label, count) for code, label, count in themes)


# -- the three types -----------------------------------------------------------------------


def test_a_person_ready_for_work_without_freins_gets_a_professional_proposal():
    proposal = evaluate(READY, DEFAULT_RULES)
    assert proposal.proposed_type is OrientationType.PROFESSIONAL
    assert proposal.employability_score == 10
    assert proposal.barrier_score == 0
    assert proposal.missing == []
    assert proposal.rule_set_version == 0
    assert "orientation professionnelle" in proposal.explanation


def test_many_freins_and_little_employability_give_a_social_proposal():
    inputs = ProposalInputs(
        has_diagnostic=True,
        education_level=EducationLevel.NONE,
        digital_autonomy=DigitalAutonomy.NO_ACCESS,
        open_barriers=_barriers(
            ("logement", "Logement", 1),
            ("mobilite", "Mobilité", 2),
            ("maitrise_langue", "Maîtrise de la langue", 1),
        ),
        dependants=3,
    )
    proposal = evaluate(inputs, DEFAULT_RULES)
    assert proposal.proposed_type is OrientationType.SOCIAL
    assert proposal.employability_score == 0
    assert proposal.barrier_score == 3 + 2 + 2 + 1
    assert "orientation sociale" in proposal.explanation


def test_some_freins_and_some_employability_give_a_socio_professional_proposal():
    inputs = ProposalInputs(
        has_diagnostic=True,
        education_level=EducationLevel.CAP_BEP,
        has_strengths=True,
        has_skills=True,
        open_barriers=_barriers(("logement", "Logement", 1)),
    )
    proposal = evaluate(inputs, DEFAULT_RULES, version=4)
    assert proposal.proposed_type is OrientationType.SOCIO_PROFESSIONAL
    assert (proposal.employability_score, proposal.barrier_score) == (3, 3)
    assert proposal.rule_set_version == 4
    assert proposal.explanation == (
        "Employabilité moyenne (3 points, de 3 à 5 points) et quelques freins "
        "(3 points, de 2 à 4 points) : la grille propose une orientation "
        "socio-professionnelle."
    )


# -- every factor, with what it weighed ----------------------------------------------------


def test_every_factor_is_listed_with_its_points_and_french_label():
    inputs = dataclasses.replace(
        READY,
        digital_autonomy=DigitalAutonomy.NEEDS_HELP,
        open_barriers=_barriers(
            ("logement", "Logement", 3), ("local-jardin", "Jardins partagés", 1)
        ),
        dependants=2,
    )
    proposal = evaluate(inputs, DEFAULT_RULES)
    assert _factors(proposal) == [
        ("education:bac_2", "employability", 3),
        ("digital:needs_help", "employability", 1),
        ("strengths", "employability", 1),
        ("skills", "employability", 1),
        ("project:rome", "employability", 3),
        ("barrier:logement", "barriers", 3),
        ("barrier:local-jardin", "barriers", 1),
        ("rights:dependants", "barriers", 1),
    ]
    labels = [f.label for f in proposal.factors]
    assert labels[0] == "Niveau de formation : Bac + 2 : BTS, DUT… (niveau 5)"
    assert labels[1] == "Autonomie numérique : A besoin d'aide"
    # A theme with several freins counts once, and says so.
    assert labels[5] == "Frein à lever : Logement (3 freins, le thème compte une fois)"
    # A theme the rules do not list weighs the points of « un autre thème ».
    assert labels[6] == "Frein à lever : Jardins partagés (thème non listé dans les règles)"
    assert labels[7] == "Personnes à charge dans le foyer : 2"
    assert proposal.employability_score == sum(
        p for _, a, p in _factors(proposal) if a == "employability"
    )
    assert proposal.barrier_score == 3 + 1 + 1


def test_a_factor_weighing_nothing_is_still_shown():
    rules_without_logement = dataclasses.replace(
        DEFAULT_RULES, barrier_themes={**DEFAULT_RULES.barrier_themes, "logement": 0}
    )
    inputs = ProposalInputs(open_barriers=_barriers(("logement", "Logement", 1)))
    proposal = evaluate(inputs, rules_without_logement)
    assert ("barrier:logement", "barriers", 0) in _factors(proposal)
    assert proposal.barrier_score == 0


def test_a_project_in_the_persons_own_words_counts_when_none_has_a_rome_code():
    inputs = dataclasses.replace(READY, has_rome_project=False, has_other_project=True)
    proposal = evaluate(inputs, DEFAULT_RULES)
    assert ("project:other", "employability", 1) in _factors(proposal)
    assert not [f for f in proposal.factors if f.code == "project:rome"]


# -- thresholds ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "level"),
    [(0, "low"), (2, "low"), (3, "medium"), (5, "medium"), (6, "high"), (10, "high")],
)
def test_employability_levels_start_at_their_threshold(score, level):
    assert DEFAULT_RULES.employability_level(score) == level


@pytest.mark.parametrize(
    ("score", "level"), [(0, "few"), (1, "few"), (2, "some"), (4, "some"), (5, "many")]
)
def test_barrier_levels_start_at_their_threshold(score, level):
    assert DEFAULT_RULES.barrier_level(score) == level


def test_reaching_a_threshold_exactly_changes_the_proposed_type():
    # Employability 10, barriers at 4 (« quelques ») then 5 (« nombreux »): pro → socio-pro.
    four = dataclasses.replace(
        READY, open_barriers=_barriers(("logement", "Logement", 1)), dependants=1
    )
    five = dataclasses.replace(
        READY, open_barriers=_barriers(("logement", "Logement", 1), ("mobilite", "Mobilité", 1))
    )
    assert evaluate(four, DEFAULT_RULES).barrier_score == 4
    assert evaluate(four, DEFAULT_RULES).proposed_type is OrientationType.PROFESSIONAL
    assert evaluate(five, DEFAULT_RULES).barrier_score == 5
    assert evaluate(five, DEFAULT_RULES).proposed_type is OrientationType.SOCIO_PROFESSIONAL


def test_the_grid_decides_the_type_of_each_cell():
    all_social = dataclasses.replace(
        DEFAULT_RULES, grid=dict.fromkeys(DEFAULT_RULES.grid, OrientationType.SOCIAL)
    )
    assert evaluate(READY, all_social).proposed_type is OrientationType.SOCIAL


# -- what is not known -----------------------------------------------------------------------


def test_missing_data_is_listed_never_guessed():
    proposal = evaluate(ProposalInputs(dependants=0), DEFAULT_RULES)
    assert proposal.missing == [
        "aucun diagnostic enregistré (niveau de formation, autonomie numérique)",
        "aucun projet professionnel enregistré",
    ]
    assert proposal.factors == []
    assert proposal.employability_score == 0


def test_a_diagnostic_without_level_or_autonomy_says_so():
    inputs = ProposalInputs(has_diagnostic=True, has_rome_project=True)
    proposal = evaluate(inputs, DEFAULT_RULES)
    assert proposal.missing == [
        "le niveau de formation n'est pas renseigné dans le diagnostic",
        "l'autonomie numérique n'est pas renseignée dans le diagnostic",
    ]


def test_sections_the_actor_may_not_read_are_listed_as_missing():
    inputs = ProposalInputs(
        situation_known=False,
        projects_known=False,
        rights_known=False,
        # Whatever was filled in is ignored when the section was not readable.
        has_diagnostic=True,
        education_level=EducationLevel.MASTER,
        open_barriers=_barriers(("logement", "Logement", 1)),
        has_rome_project=True,
        dependants=4,
    )
    proposal = evaluate(inputs, DEFAULT_RULES)
    assert proposal.factors == []
    assert len(proposal.missing) == 3
    assert proposal.missing[0].startswith("le diagnostic et les freins : vos droits")
    assert proposal.missing[1].startswith("les projets professionnels : vos droits")
    assert proposal.missing[2].startswith("la composition du foyer : vos droits")


# -- storage ----------------------------------------------------------------------------------


def test_a_stored_proposal_is_plain_json_and_reads_back_the_same():
    proposal = evaluate(
        dataclasses.replace(READY, open_barriers=_barriers(("logement", "Logement", 2))),
        DEFAULT_RULES,
        version=7,
    )
    stored = json.loads(json.dumps(proposal.as_json()))
    assert stored["proposed_type"] == "professionnelle"
    assert stored["rule_set_version"] == 7
    assert stored["factors"][0] == {
        "code": "education:bac_2",
        "label": "Niveau de formation : Bac + 2 : BTS, DUT… (niveau 5)",
        "axis": "employability",
        "points": 3,
    }
    assert describe(stored) == proposal


def test_an_unreadable_stored_proposal_is_refused():
    with pytest.raises(ValueError, match="unreadable"):
        describe({"proposed_type": "autre", "rule_set_version": 1})


# -- the document and its schema -------------------------------------------------------------


def _document(**changes):
    document = rules.to_document(DEFAULT_RULES)
    for path, value in changes.items():
        node = document
        *parents, leaf = path.split("__")
        for part in parents:
            node = node[part]
        if value is None:
            del node[leaf]
        else:
            node[leaf] = value
    return document


def _errors(document):
    with pytest.raises(InvalidInput) as refused:
        rules.load_document(document)
    return refused.value.fields


def test_the_default_rules_are_a_valid_document():
    assert rules.load_document(rules.to_document(DEFAULT_RULES)) == DEFAULT_RULES


def test_negative_points_are_refused_in_french():
    errors = _errors(_document(employability__strengths=-1, barriers__dependants=21))
    assert errors == {
        "employability.strengths": ["Saisissez un nombre entier de points, de 0 à 20."],
        "barriers.dependants": ["Saisissez un nombre entier de points, de 0 à 20."],
    }


def test_points_of_a_theme_and_its_code_are_checked():
    errors = _errors(
        _document(barriers__themes={"Logement !": 1, "mobilite": -2, "numerique": "x"})
    )
    assert errors == {
        "barriers.themes.Logement !": ["Ce code de thème n'est pas valide."],
        "barriers.themes.mobilite": ["Saisissez un nombre entier de points, de 0 à 20."],
        "barriers.themes.numerique": ["Saisissez un nombre entier de points, de 0 à 20."],
    }


@pytest.mark.parametrize(("medium", "high"), [(6, 6), (7, 6)])
def test_thresholds_out_of_order_are_refused(medium, high):
    errors = _errors(
        _document(thresholds__employability_medium=medium, thresholds__employability_high=high)
    )
    assert errors == {
        "thresholds.employability_high": [
            f"Ce seuil doit être plus grand que le seuil précédent ({medium} points)."
        ]
    }


def test_a_grid_cell_must_name_one_of_the_three_types():
    errors = _errors(_document(grid__many__low="suspension"))
    assert errors == {
        "grid.many.low": [
            "Choisissez une orientation : sociale, socio-professionnelle ou professionnelle."
        ]
    }


def test_unknown_and_missing_parts_are_refused():
    errors = _errors(_document(employability__age=2, grid__few=None, thresholds__barriers_some=0))
    assert errors == {
        "employability.age": ["Ce champ n'est pas attendu dans les règles."],
        "grid.few": ["Ce champ est obligatoire."],
        "thresholds.barriers_some": ["Saisissez un nombre entier de points, de 1 à 200."],
    }


# -- the admin's form --------------------------------------------------------------------------


def _form(**changes):
    values = rules.form_values(DEFAULT_RULES)
    values.update(change_note="Règles du comité de mars", based_on="0")
    values.update(changes)
    return values


def test_the_form_of_a_rule_set_reads_back_as_the_same_rules():
    parsed = rules.parse_form(_form(csrf_token="abc"))
    assert parsed.rules == DEFAULT_RULES
    assert parsed.change_note == "Règles du comité de mars"
    assert parsed.based_on == 0


def test_the_form_reports_every_error_at_once():
    values = _form(
        **{"thresholds.barriers_many": "2", "employability.skills": "", "change_note": ""}
    )
    values["employability.education.bac"] = "deux"
    with pytest.raises(InvalidInput) as refused:
        rules.parse_form(values)
    assert refused.value.fields == {
        "change_note": ["Ce champ est obligatoire."],
        "employability.education.bac": ["Saisissez un nombre entier de points, de 0 à 20."],
        "employability.skills": ["Saisissez un nombre entier de points, de 0 à 20."],
        "thresholds.barriers_many": [
            "Ce seuil doit être plus grand que le seuil précédent (2 points)."
        ],
    }


def test_a_theme_of_the_departement_not_in_the_rules_shows_the_points_it_weighs_now():
    values = rules.form_values(DEFAULT_RULES, ["local-jardin", "logement"])
    assert values["barriers.themes.local-jardin"] == "1"
    assert values["barriers.themes.logement"] == "3"
