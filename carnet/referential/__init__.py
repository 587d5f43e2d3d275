"""The département's referential: themes, situations, objectives and actions per theme."""
