"""Alerts: what was found worth telling, and its delivery."""
