"""Escalation to human mediators: conversation states, queue, routing, desks."""
