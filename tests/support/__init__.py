"""Test scaffolding: stand-ins that speak real wire formats on loopback for parts that cannot exist
here (the BIGHUB control plane), the demo tools as the tests register them (each call recorded), and
helpers that several test folders share. Product code never imports from here."""
