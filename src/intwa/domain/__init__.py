"""The pure core of intwa: models, errors, ports and use cases. No I/O, no frameworks."""
