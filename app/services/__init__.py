"""Domain operations shared by the backend, the portal and the CLI."""
