"""In-app notifications and outgoing messages (e-mail, SMS), sent after commit."""
