"""The professional's workspace: « Mes accompagnements » and the search of people.

The blueprint lives in `views.py`, like every domain's, so that importing the services
(CLI, jobs) never imports Flask.
"""
