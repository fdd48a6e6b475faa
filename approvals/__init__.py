"""Approvals: requests raised by paused tool calls, and their resolution by reviewers."""
