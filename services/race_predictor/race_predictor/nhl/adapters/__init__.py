"""The only NHL modules that call AWS: the player-stats table (through pitwall_shared.aws.client)."""
