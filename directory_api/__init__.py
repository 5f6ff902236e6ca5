"""The directory API: sign-in with four factors, then search and read children through the audited read contract.

Run it with ``uvicorn directory_api.main:app`` (``CONTACTPOINT_DATABASE_URL`` names the store).
"""
