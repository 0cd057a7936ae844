"""The only modules of race_predictor that call AWS (DynamoDB), through pitwall_shared.aws.client."""
