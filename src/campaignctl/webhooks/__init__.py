"""Twilio's webhooks: a WSGI application that records each event in one transaction."""
