"""Inputs of the login pages: one schema per use case, French messages, unknown fields refused."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

REQUIRED = "Ce champ est obligatoire."


class _Input(Schema):
    class Meta:
        unknown = RAISE


class MagicLinkRequestInput(_Input):
    email = fields.Email(
        required=True,
        validate=validate.Length(max=254, error="Cette adresse est trop longue."),
        error_messages={"required": REQUIRED, "invalid": "Saisissez une adresse e-mail valide."},
    )


class ActivationCodeInput(_Input):
    code = fields.String(
        required=True,
        validate=validate.Length(min=1, max=40, error="Saisissez le code reçu, de 16 caractères."),
        error_messages={"required": REQUIRED},
    )


class TotpInput(_Input):
    code = fields.String(
        required=True,
        validate=validate.Length(min=1, max=12, error="Saisissez les 6 chiffres du code."),
        error_messages={"required": REQUIRED},
    )


class RoleChoiceInput(_Input):
    membership_id = fields.UUID(
        required=True,
        error_messages={"required": "Choisissez un rôle.", "invalid": "Rôle inconnu."},
    )


class DemoLoginInput(_Input):
    account_id = fields.UUID(
        required=True, error_messages={"required": REQUIRED, "invalid": "Compte inconnu."}
    )
    membership_id = fields.UUID(
        load_default=None, allow_none=True, error_messages={"invalid": "Rôle inconnu."}
    )
