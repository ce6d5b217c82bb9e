"""(placeholder)"""

from django.http import Http404, HttpRequest, HttpResponse


def sequences(request: HttpRequest) -> HttpResponse:
    raise Http404


def handoffs(request: HttpRequest) -> HttpResponse:
    raise Http404


def forecast(request: HttpRequest) -> HttpResponse:
    raise Http404
