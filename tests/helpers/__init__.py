"""Test helpers: private Redis and databases, worker subprocesses, local HTTP servers."""
