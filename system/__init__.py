"""The system assembly: applications, read models and services built from Settings,
used by the API, the workers and the CLI."""
