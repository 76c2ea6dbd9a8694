"""Invoice disputes (发票纠纷, spec 5): built in the disputes issue."""
