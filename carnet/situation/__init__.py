"""The situation section (dated diagnostic versions, freins périphériques) and the health
compartment (health freins, RQTH, health partners' notes, the person's consents)."""
