"""Remote decision backends. Today: the BIGHUB control plane, through the official `bighub` SDK."""
