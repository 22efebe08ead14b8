"""The local models Ghostwire can fetch and run (shared by the engine, the llm_worker and `make model`)."""
