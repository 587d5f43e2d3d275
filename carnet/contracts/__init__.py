"""Contracts of a journey (CER, contrat d'engagement, PPAE, CEJ, PACEA), versions, PDF."""
