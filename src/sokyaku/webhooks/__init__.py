"""Outgoing webhooks: subscriptions, signed deliveries from durable rows, the delivery log, replay.

Other systems (a CRM, a shop) learn within seconds that a handoff was made, a deal won, an order
placed. The app sits above the domain apps whose events it relays and below the switchboard
(``sokyaku.reactions``), which hands it the stored events; nothing below imports it.
"""
