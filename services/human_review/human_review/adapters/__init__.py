"""The only modules of human review that call AWS (through `pitwall_shared.aws.client`)."""
