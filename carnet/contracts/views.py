"""The contract pages: parse, call one service, render. No query, no role test.

Professionals reach a person's contracts from the record's tab (/personnes/<id>/contrats);
the person reads and signs his or her own in « Mon carnet » (/mon-carnet/contrats). A
refused step (a transition the life cycle does not allow, a version changed meanwhile)
or a form to correct rolls the request back; the handlers below show the page again, in
a transaction of their own (an audited read), with the French message and what was typed.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from carnet import db
from carnet.contracts import schemas, services
from carnet.documents.views import download_response
from carnet.errors import CarnetError, Conflict, InvalidInput
from carnet.records import services as records
from carnet.web import require_principal

blueprint = Blueprint("contracts", __name__)

_PORTAL_ENDPOINTS = frozenset(
    {"contracts.own_list", "contracts.own_contract", "contracts.own_sign", "contracts.own_pdf"}
)


def _values() -> dict[str, Any]:
    values: dict[str, Any] = {
        key: value for key, value in request.form.items() if key != "csrf_token"
    }
    values["objective_ids"] = request.form.getlist("objective_ids")
    return values


def _form() -> dict[str, Any]:
    """The submitted form as the schemas read it (the objectives are a list)."""
    data: dict[str, Any] = dict(request.form.items())
    if "objective_ids" in request.form:
        data["objective_ids"] = request.form.getlist("objective_ids")
    return data


def _list_page(
    beneficiary_id: uuid.UUID,
    *,
    errors: dict[str, list[str]] | None = None,
    message: str | None = None,
    status: int = 200,
) -> Any:
    page = services.list_contracts(actor=require_principal(), beneficiary_id=beneficiary_id)
    values = _values() if errors is not None or message else {}
    body = render_template(
        "contracts/list.html", page=page, errors=errors or {}, values=values, message=message
    )
    return body, status


def _contract_page(
    beneficiary_id: uuid.UUID,
    contract_id: uuid.UUID,
    *,
    errors: dict[str, list[str]] | None = None,
    message: str | None = None,
    form: str | None = None,
    status: int = 200,
) -> Any:
    page = services.get_contract(
        actor=require_principal(), beneficiary_id=beneficiary_id, contract_id=contract_id
    )
    template = "contracts/own_contract.html" if page.is_own else "contracts/contract.html"
    body = render_template(
        template,
        page=page,
        errors=errors or {},
        values=_values() if form else {},
        message=message,
        form=form,
    )
    return body, status


def _again(error: InvalidInput | Conflict, status: int) -> Any:
    """Nothing was saved (the request rolled back): the page again, with the message."""
    errors = error.fields if isinstance(error, InvalidInput) else None
    message = None if isinstance(error, InvalidInput) and error.fields else error.message
    form = (request.endpoint or "").rpartition(".")[2]
    try:
        return _render_again(error, errors, message, form), status
    except CarnetError as refusal:
        # The page itself is refused (not in the group, not in scope): answered like any
        # refusal, by the application's handlers.
        return current_app.handle_user_exception(refusal)


def _render_again(
    error: InvalidInput | Conflict,
    errors: dict[str, list[str]] | None,
    message: str | None,
    form: str,
) -> Any:
    args = request.view_args or {}
    with db.unit_of_work():
        actor = require_principal()
        beneficiary_id = args.get("beneficiary_id")
        if request.endpoint in _PORTAL_ENDPOINTS:
            beneficiary_id = records.own_record_id(actor)
        contract_id = args.get("contract_id")
        if contract_id is not None and beneficiary_id is not None:
            body, _ = _contract_page(
                beneficiary_id,
                contract_id,
                errors=errors or {},
                message=message,
                form=form,
            )
        elif beneficiary_id is not None:
            body, _ = _list_page(
                beneficiary_id, errors=errors or {}, message=message or error.message
            )
        else:  # pragma: no cover - every route names the person or is the person's own
            raise error
    return body


@blueprint.errorhandler(InvalidInput)
def _invalid(error: InvalidInput) -> Any:
    return _again(error, 422)


@blueprint.errorhandler(Conflict)
def _conflict(error: Conflict) -> Any:
    return _again(error, 409)


def _to_contract(beneficiary_id: uuid.UUID, contract_id: uuid.UUID, message: str) -> Any:
    flash(message, "success")
    return redirect(
        url_for("contracts.contract", beneficiary_id=beneficiary_id, contract_id=contract_id)
    )


# -- the record's tab -------------------------------------------------------------------------


@blueprint.get("/personnes/<uuid:beneficiary_id>/contrats")
def show(beneficiary_id: uuid.UUID) -> Any:
    return _list_page(beneficiary_id)


@blueprint.post("/personnes/<uuid:beneficiary_id>/contrats")
def create(beneficiary_id: uuid.UUID) -> Any:
    data: schemas.NewContract = schemas.parse(schemas.ContractInput(), _form())
    contract_id = services.create_draft(
        actor=require_principal(), beneficiary_id=beneficiary_id, kind=data.kind, terms=data.terms
    )
    return _to_contract(
        beneficiary_id,
        contract_id,
        "Le projet de contrat est enregistré en brouillon. Relisez-le avec la personne, "
        "puis proposez-le à sa signature.",
    )


@blueprint.get("/personnes/<uuid:beneficiary_id>/contrats/<uuid:contract_id>")
def contract(beneficiary_id: uuid.UUID, contract_id: uuid.UUID) -> Any:
    return _contract_page(beneficiary_id, contract_id)


@blueprint.post("/personnes/<uuid:beneficiary_id>/contrats/<uuid:contract_id>/modifier")
def edit(beneficiary_id: uuid.UUID, contract_id: uuid.UUID) -> Any:
    data: schemas.EditedTerms = schemas.parse(schemas.EditInput(), _form())
    services.edit_draft(
        actor=require_principal(),
        beneficiary_id=beneficiary_id,
        contract_id=contract_id,
        terms=data.terms,
        version=data.version,
    )
    return _to_contract(beneficiary_id, contract_id, "Le brouillon est enregistré.")


@blueprint.post("/personnes/<uuid:beneficiary_id>/contrats/<uuid:contract_id>/proposer")
def propose(beneficiary_id: uuid.UUID, contract_id: uuid.UUID) -> Any:
    data = schemas.parse(schemas.VersionInput(), request.form)
    services.propose(
        actor=require_principal(),
        beneficiary_id=beneficiary_id,
        contract_id=contract_id,
        version=data["version"],
    )
    return _to_contract(
        beneficiary_id,
        contract_id,
        "Le contrat est proposé à la signature de la personne. Si elle a un compte, elle "
        "en est informée et peut le signer dans son espace.",
    )


@blueprint.post("/personnes/<uuid:beneficiary_id>/contrats/<uuid:contract_id>/reprendre")
def reopen(beneficiary_id: uuid.UUID, contract_id: uuid.UUID) -> Any:
    data = schemas.parse(schemas.VersionInput(), request.form)
    services.reopen(
        actor=require_principal(),
        beneficiary_id=beneficiary_id,
        contract_id=contract_id,
        version=data["version"],
    )
    return _to_contract(
        beneficiary_id,
        contract_id,
        "Le contrat est repris en brouillon : les signatures déjà données sont effacées.",
    )


def _signed_message(complete: bool) -> str:
    if complete:
        return "Le contrat est signé par les deux parties : il est en vigueur, et son PDF est prêt."
    return "La signature est enregistrée. Le contrat attend l'autre signature."


@blueprint.post("/personnes/<uuid:beneficiary_id>/contrats/<uuid:contract_id>/signer")
def sign(beneficiary_id: uuid.UUID, contract_id: uuid.UUID) -> Any:
    data: schemas.Signature = schemas.parse(schemas.SignatureInput(), request.form)
    complete = services.sign_as_referent(
        actor=require_principal(),
        beneficiary_id=beneficiary_id,
        contract_id=contract_id,
        number=data.number,
        seen=data.seen,
    )
    return _to_contract(beneficiary_id, contract_id, _signed_message(complete))


@blueprint.post(
    "/personnes/<uuid:beneficiary_id>/contrats/<uuid:contract_id>/signature-accompagnee"
)
def sign_accompanied(beneficiary_id: uuid.UUID, contract_id: uuid.UUID) -> Any:
    data: schemas.Signature = schemas.parse(schemas.AccompaniedSignatureInput(), request.form)
    complete = services.record_person_signature_accompanied(
        actor=require_principal(),
        beneficiary_id=beneficiary_id,
        contract_id=contract_id,
        number=data.number,
        seen=data.seen,
    )
    return _to_contract(beneficiary_id, contract_id, _signed_message(complete))


@blueprint.post("/personnes/<uuid:beneficiary_id>/contrats/<uuid:contract_id>/signe-hors-carnet")
def signed_elsewhere(beneficiary_id: uuid.UUID, contract_id: uuid.UUID) -> Any:
    data: schemas.SignedElsewhere = schemas.parse(schemas.ElsewhereInput(), request.form)
    services.record_signed_elsewhere(
        actor=require_principal(),
        beneficiary_id=beneficiary_id,
        contract_id=contract_id,
        person_signed_on=data.person_signed_on,
        referent_signed_on=data.referent_signed_on,
    )
    return _to_contract(
        beneficiary_id,
        contract_id,
        "La signature hors du carnet est enregistrée : le contrat est en vigueur.",
    )


@blueprint.post("/personnes/<uuid:beneficiary_id>/contrats/<uuid:contract_id>/avenant")
def amend(beneficiary_id: uuid.UUID, contract_id: uuid.UUID) -> Any:
    schemas.parse(schemas.EmptyInput(), request.form)
    services.amend(
        actor=require_principal(), beneficiary_id=beneficiary_id, contract_id=contract_id
    )
    return _to_contract(
        beneficiary_id,
        contract_id,
        "L'avenant est préparé en brouillon, à partir de la version signée. Le contrat reste "
        "en vigueur tel qu'il a été signé jusqu'à la signature de l'avenant.",
    )


@blueprint.post("/personnes/<uuid:beneficiary_id>/contrats/<uuid:contract_id>/retirer-avenant")
def withdraw(beneficiary_id: uuid.UUID, contract_id: uuid.UUID) -> Any:
    schemas.parse(schemas.EmptyInput(), request.form)
    services.withdraw(
        actor=require_principal(), beneficiary_id=beneficiary_id, contract_id=contract_id
    )
    return _to_contract(
        beneficiary_id, contract_id, "L'avenant est retiré ; le contrat reste en vigueur."
    )


@blueprint.post("/personnes/<uuid:beneficiary_id>/contrats/<uuid:contract_id>/abandonner")
def cancel(beneficiary_id: uuid.UUID, contract_id: uuid.UUID) -> Any:
    data = schemas.parse(schemas.CancelInput(), request.form)
    services.cancel(
        actor=require_principal(),
        beneficiary_id=beneficiary_id,
        contract_id=contract_id,
        reason=data["reason"],
    )
    return _to_contract(beneficiary_id, contract_id, "Le projet de contrat est abandonné.")


@blueprint.post("/personnes/<uuid:beneficiary_id>/contrats/<uuid:contract_id>/terminer")
def end(beneficiary_id: uuid.UUID, contract_id: uuid.UUID) -> Any:
    data: schemas.Ending = schemas.parse(schemas.EndInput(), request.form)
    services.end_early(
        actor=require_principal(),
        beneficiary_id=beneficiary_id,
        contract_id=contract_id,
        reason=data.reason,
        on=data.ended_on,
    )
    return _to_contract(beneficiary_id, contract_id, "Le contrat est terminé.")


@blueprint.get(
    "/personnes/<uuid:beneficiary_id>/contrats/<uuid:contract_id>/versions/<int:number>.pdf"
)
def pdf(beneficiary_id: uuid.UUID, contract_id: uuid.UUID, number: int) -> Any:
    sent = services.download_pdf(
        actor=require_principal(),
        beneficiary_id=beneficiary_id,
        contract_id=contract_id,
        number=number,
    )
    return download_response(sent.content, media_type="application/pdf", filename=sent.filename)


# -- the person's own space ----------------------------------------------------------------------


@blueprint.get("/mon-carnet/contrats")
def own_list() -> Any:
    actor = require_principal()
    page = services.list_contracts(actor=actor, beneficiary_id=records.own_record_id(actor))
    return render_template("contracts/own_list.html", page=page)


@blueprint.get("/mon-carnet/contrats/<uuid:contract_id>")
def own_contract(contract_id: uuid.UUID) -> Any:
    actor = require_principal()
    return _contract_page(records.own_record_id(actor), contract_id)


@blueprint.post("/mon-carnet/contrats/<uuid:contract_id>/signer")
def own_sign(contract_id: uuid.UUID) -> Any:
    actor = require_principal()
    data: schemas.Signature = schemas.parse(schemas.OwnSignatureInput(), request.form)
    complete = services.sign_as_person(
        actor=actor,
        beneficiary_id=records.own_record_id(actor),
        contract_id=contract_id,
        number=data.number,
        seen=data.seen,
    )
    flash(
        "Vous avez signé votre contrat. Il est signé par les deux parties : il est en "
        "vigueur, et vous pouvez le télécharger."
        if complete
        else "Vous avez signé votre contrat. Votre référent le signera à son tour.",
        "success",
    )
    return redirect(url_for("contracts.own_contract", contract_id=contract_id))


@blueprint.get("/mon-carnet/contrats/<uuid:contract_id>/versions/<int:number>.pdf")
def own_pdf(contract_id: uuid.UUID, number: int) -> Any:
    actor = require_principal()
    sent = services.download_pdf(
        actor=actor,
        beneficiary_id=records.own_record_id(actor),
        contract_id=contract_id,
        number=number,
    )
    return download_response(sent.content, media_type="application/pdf", filename=sent.filename)
