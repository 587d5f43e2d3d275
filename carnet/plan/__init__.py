"""The plan d'action: axes (themes) → objectives → actions, with statuses and versions."""
