"""(placeholder)"""

from django.http import HttpRequest, HttpResponse, Http404


def sequences(request: HttpRequest) -> HttpResponse:
    raise Http404


def handoffs(request: HttpRequest) -> HttpResponse:
    raise Http404


def forecast(request: HttpRequest) -> HttpResponse:
    raise Http404
