"""Migrant hotline: flows in four languages with handoff to human mediators."""
