"""Lobby displays: the message contract and the fan-out to websockets."""
