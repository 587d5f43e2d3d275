"""Orientation of a journey: proposal, queue, decision, reorientation, exit and re-entry."""
