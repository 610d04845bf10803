"""The ARQIUM REST face (seed 000): /api/v1 and /ws/sync."""
