"""The prompt templates (*.txt), shipped as package data; rag/prompts.py fills them in."""
