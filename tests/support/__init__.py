"""Stand-ins that speak real wire formats on loopback, for parts that cannot exist here."""
