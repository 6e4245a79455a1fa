"""The staff web console at /console: mediators (queue, conversations), editors, admins."""
