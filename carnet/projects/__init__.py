"""Professional projects: the jobs a person aims at (ROME), contract, time and mobility."""
