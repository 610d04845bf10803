"""The Memory Service v0 face (seed 002): users, vaults, memories, contexts, entries."""
