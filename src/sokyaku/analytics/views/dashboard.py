"""(placeholder)"""

from django.http import Http404, HttpRequest, HttpResponse


def dashboard(request: HttpRequest) -> HttpResponse:
    raise Http404


def funnel(request: HttpRequest) -> HttpResponse:
    raise Http404


def channels(request: HttpRequest) -> HttpResponse:
    raise Http404


def contacts(request: HttpRequest) -> HttpResponse:
    raise Http404
