"""The HTTP API (Litestar): decode, authenticate, call one use case, render the envelope."""
