"""Intake: takes reports from police units over HTTP and publishes `report.received`."""
