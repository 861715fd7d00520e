"""Notify: tells the control rooms that must act, by SMS and email, exactly once each."""
