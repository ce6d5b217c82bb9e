"""Signals one app sends and higher apps may react to, without the sender importing them."""

from django.dispatch import Signal

# Sent (inside the writing transaction) when contacts' source changed after they were created —
# first-touch channel or first touch replaced, contacts merged — with ``contact_ids``: the
# numbers attributed to those contacts' source must be counted again.
contact_sources_changed = Signal()
