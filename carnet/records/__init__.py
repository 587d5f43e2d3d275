"""The beneficiary's record: identity, journeys, follow-up group, consents, timeline."""
