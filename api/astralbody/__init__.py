"""The AstralBody face (seed 004): health, auth config, profile, chat history, files,
components and agents."""
