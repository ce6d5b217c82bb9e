"""``/api/v1/messages/bounces``: hand a bounce, complaint (ARF) or mailed opt-out to sokyaku.

The body is the raw mail (``message/rfc822``, any content type accepted): what an MTA pipe or a
provider's inbound-mail webhook forwards. Same handling as the bounce mailbox
(``services.bounces.bounce_process``).
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

from sokyaku.core.apikeys import ApiKeyAuth
from sokyaku.core.models import ApiScope
from sokyaku.core.schemas import error_responses, responses_extra
from sokyaku.messaging.schemas import BounceOut
from sokyaku.messaging.services import bounces

router = Router(tags=["messages"])

_ERRORS = (401, 403, 413, 422)


@router.post(
    "/messages/bounces",
    response={200: BounceOut, **error_responses(*_ERRORS)},
    auth=ApiKeyAuth(ApiScope.MESSAGES_WRITE, "messaging.change_message"),
    operation_id="message_bounce_process",
    summary="Process one bounce (DSN), complaint (ARF) or mailed opt-out, sent as the raw mail",
    openapi_extra={
        **responses_extra(_ERRORS),
        "requestBody": {
            "required": True,
            "content": {"message/rfc822": {"schema": {"type": "string", "format": "binary"}}},
        },
    },
)
def message_bounce_process(request: HttpRequest) -> bounces.BounceResult:
    return bounces.bounce_process(raw=request.body)
