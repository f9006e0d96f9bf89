"""intwa: the WhatsApp account gateway of a messaging platform."""

__version__ = "0.1.0"
