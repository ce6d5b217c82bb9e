"""The handoff UI: the sales inbox and a handoff's page (``inbox``), the contact panel's
activity form, and the settings pages for triggers, routing, teams and alerts (``setup``)."""
