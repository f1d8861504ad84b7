"""Security: the manager, the roles as data, and the company scoping."""
