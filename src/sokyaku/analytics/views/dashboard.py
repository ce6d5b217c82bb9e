"""(placeholder)"""

from django.http import HttpRequest, HttpResponse, Http404


def dashboard(request: HttpRequest) -> HttpResponse:
    raise Http404


def funnel(request: HttpRequest) -> HttpResponse:
    raise Http404


def channels(request: HttpRequest) -> HttpResponse:
    raise Http404


def contacts(request: HttpRequest) -> HttpResponse:
    raise Http404
