"""(placeholder)"""

from django.http import Http404, HttpRequest, HttpResponse


def attribution(request: HttpRequest) -> HttpResponse:
    raise Http404
