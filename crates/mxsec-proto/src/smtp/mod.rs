//! SMTP (RFC 5321) replies and the STARTTLS (RFC 3207) dialogue.
