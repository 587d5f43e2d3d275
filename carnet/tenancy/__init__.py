"""Départements, territories, organisations, accreditations and memberships."""
