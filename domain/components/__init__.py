"""Saved components (seed 004): a user's dashboard pieces, combined and condensed."""
