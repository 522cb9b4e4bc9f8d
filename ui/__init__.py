"""The browser chat (ui/app.py), served by `rag serve`."""
