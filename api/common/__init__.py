"""What the faces share: the caller and typed dependencies, positions, error shapes,
envelopes, bodies and request models used by more than one face, search, login
sessions, health. Nothing here imports a face."""
