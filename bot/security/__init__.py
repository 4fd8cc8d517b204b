"""Keys, sealing at rest, aliases and pseudonyms, tickets, image sanitising."""
