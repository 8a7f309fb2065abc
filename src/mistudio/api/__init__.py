"""The studio's HTTP API (FastAPI, under ``/api/v1``), its WebSocket events and the static UI.

Build the app with :func:`mistudio.api.app.create_app`; ``mistudio serve`` runs it with uvicorn.
"""
