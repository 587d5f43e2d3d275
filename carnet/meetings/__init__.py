"""Appointments (individual, collective, tripartite) with attendance, and notes with visibility."""
