"""(placeholder)"""

from django.http import HttpRequest, HttpResponse, Http404


def attribution(request: HttpRequest) -> HttpResponse:
    raise Http404
