"""Callbacks (SPEC §3.10): an account's URL, its signing secrets, the URL rules, and the use cases around them."""
