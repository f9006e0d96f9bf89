"""Adapters of the `RateLimiter` port: per-account request counters in memory or shared through a store."""
