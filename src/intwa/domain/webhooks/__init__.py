"""Meta's WhatsApp Business Account webhooks (SPEC §3.9).

`payload` is Meta's wire format and its lenient decoding, `signature` the checks that a request comes from
Meta, and `apply` the use case that applies each change.
"""
