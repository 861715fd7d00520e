"""prahari-audit: the auditors' tool. It reads the services' stores (never writes them) and
answers: has history been changed, what did a case look like at a moment, and what happened
to a case across cases and notify, in order."""
