"""The webhooks app's writes: subscriptions, publishing, sending, replay.

``publish`` is the door for apps above this one (the privacy app's ``erasure.done``);
``deliveries_forget`` deletes what the deliveries hold about an erased person."""

from sokyaku.webhooks.services.publishing import deliveries_forget, publish

__all__ = ["deliveries_forget", "publish"]
