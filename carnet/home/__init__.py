"""The first page after login: one home per role, each fed by the domains' services."""
