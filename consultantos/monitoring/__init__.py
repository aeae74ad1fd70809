"""Monitors: what is watched, how a check fetches and compares it, and when checks are due."""
