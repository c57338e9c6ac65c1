"""Committees, sessions, conflicts of interest, votes and decisions (committee issue)."""
