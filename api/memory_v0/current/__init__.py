"""The Memory Service's current dialect (its newest Go SDK, CLI and MCP server), beside
the seed's: paths without the user, the caller named by its bearer API key."""
