"""Spreading a poll: its absolute links, QR codes, OpenGraph tags and the result card."""
