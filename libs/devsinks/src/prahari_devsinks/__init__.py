"""Where development and test messages go instead of real phones and inboxes: a real SMTP
server (aiosmtpd) that keeps what it receives, and an HTTP SMS gateway that behaves like a
DLT gateway's API (JSON in, an id out, the same id again for a reference it has seen)."""
