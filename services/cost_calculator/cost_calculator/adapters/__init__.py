"""The only modules of the cost calculator that talk to AWS (DynamoDB usage table, EventBridge)."""
