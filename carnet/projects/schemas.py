"""Input schemas of the professional project pages: one per use case, French messages,
unknown fields refused.

They return typed values and never read the ROME list or the database: whether a code is
in the list is the service's question. A job is either chosen in the list or written in
the person's own words, not both. The `version` field carries the version of the project
the edit form was built from (optimistic locking).
"""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, validate
from marshmallow import validates_schema as schema_check

from carnet.projects.models import MAX_RADIUS_KM, ContractSought, ProjectStatus, WorkingTime
from carnet.projects.services import FILTER_MAX, ProjectDetails
from carnet.records.schemas import FormSchema, parse
from carnet.referential.schemas import checkbox_field, choice_field, version_field

FREE_LABEL_MIN = 3
FREE_LABEL_MAX = 200

__all__ = ["JobFilterInput", "ProjectInput", "ProjectUpdateInput", "parse"]

_NO_JOB = (
    "Choisissez le métier visé dans la liste ou, s'il n'y est pas, écrivez-le dans le champ "
    "« Autre métier »."
)
_TWO_JOBS = (
    "Choisissez un métier dans la liste ou écrivez-en un autre, pas les deux : videz l'un "
    "des deux champs."
)
_ROME_CODE = "Choisissez un métier de la liste."
_CONTRACT = (
    "Choisissez le contrat recherché : CDI, CDD, intérim, alternance, insertion par "
    "l'activité économique, création d'entreprise ou indifférent."
)
_WORKING_TIME = "Choisissez le temps de travail : temps plein, temps partiel ou indifférent."
_STATUS = "Choisissez le statut : en réflexion, validé, atteint ou abandonné."
_RADIUS = f"Indiquez une distance en kilomètres, entre 0 et {MAX_RADIUS_KM}."


class ProjectInput(FormSchema):
    rome_code = fields.String(
        load_default=None,
        validate=validate.Regexp(r"^[A-N][0-9]{4}$", error=_ROME_CODE),
        error_messages={"invalid": _ROME_CODE},
    )
    free_label = fields.String(
        load_default=None,
        validate=validate.Length(
            min=FREE_LABEL_MIN,
            max=FREE_LABEL_MAX,
            error=(
                f"L'intitulé du métier doit compter entre {FREE_LABEL_MIN} et "
                f"{FREE_LABEL_MAX} caractères."
            ),
        ),
        error_messages={"invalid": "Ce texte n'est pas lisible."},
    )
    contract = choice_field([c.value for c in ContractSought], _CONTRACT)
    working_time = choice_field([w.value for w in WorkingTime], _WORKING_TIME)
    mobility_radius_km = fields.Integer(
        load_default=None,
        strict=False,
        validate=validate.Range(min=0, max=MAX_RADIUS_KM, error=_RADIUS),
        error_messages={"invalid": _RADIUS},
    )
    has_driving_licence = checkbox_field()
    has_vehicle = checkbox_field()
    has_two_wheeler = checkbox_field()
    uses_public_transport = checkbox_field()
    status = fields.String(
        load_default=ProjectStatus.CONSIDERING.value,
        validate=validate.OneOf([s.value for s in ProjectStatus], error=_STATUS),
        error_messages={"invalid": _STATUS},
    )

    @schema_check
    def _one_job(self, data: dict[str, Any], **_: Any) -> None:
        chosen, written = data.get("rome_code"), data.get("free_label")
        if chosen is None and written is None:
            raise ValidationError(_NO_JOB, field_name="rome_code")
        if chosen is not None and written is not None:
            raise ValidationError(_TWO_JOBS, field_name="free_label")

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> ProjectDetails:
        return ProjectDetails(
            rome_code=data["rome_code"],
            free_label=data["free_label"],
            contract=ContractSought(data["contract"]),
            working_time=WorkingTime(data["working_time"]),
            mobility_radius_km=data["mobility_radius_km"],
            has_driving_licence=data["has_driving_licence"],
            has_vehicle=data["has_vehicle"],
            has_two_wheeler=data["has_two_wheeler"],
            uses_public_transport=data["uses_public_transport"],
            status=ProjectStatus(data["status"]),
            version=data.get("version"),
        )


class ProjectUpdateInput(ProjectInput):
    status = choice_field([s.value for s in ProjectStatus], _STATUS)
    version = version_field()


class JobFilterInput(Schema):
    """The query string of the job picker's filter (`?metier=…`); other parameters ignored."""

    class Meta:
        unknown = EXCLUDE

    metier = fields.String(
        load_default="",
        validate=validate.Length(
            max=FILTER_MAX, error=f"Le filtre compte au plus {FILTER_MAX} caractères."
        ),
    )


def job_filter(args: Any) -> str:
    """The filter typed in the job picker, or nothing when it is unreadable."""
    try:
        loaded = JobFilterInput().load({"metier": args.get("metier", "")})
    except ValidationError:
        return ""
    return str(loaded["metier"]).strip()
