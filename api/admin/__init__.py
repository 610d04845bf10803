"""The Admin API face (seed 003): auth tokens and login sessions."""
