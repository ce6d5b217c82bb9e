"""Forms of the deals pages: a deal and its lines, moving, winning and losing, qualifying a
handoff (with the lifecycle BANT form beside), the pipeline/stage/product settings and a
referral's reward.

The forms only parse and show input; the services validate the domain (amounts are passed on
as typed — "¥1,200,000" is what reps write — and parsed there) and their field errors are put
back onto the fields with ``add_service_errors``. Choices that need the database (owners,
stages, products) are handed in by the views, so the forms themselves never query.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.forms import BaseFormSet, formset_factory
from django.utils.translation import gettext_lazy as _

from sokyaku.core.errors import SokyakuError
from sokyaku.deals.models import (
    DealStage,
    ForecastCategory,
    LostReason,
    Pipeline,
    Product,
    RewardStatus,
    StageKind,
)

Choices = Sequence[tuple[Any, Any]]

AMOUNT_WIDGET = forms.TextInput(attrs={"inputmode": "numeric", "placeholder": "1,200,000"})
DATE_WIDGET = forms.DateInput(attrs={"type": "date"})


def stage_choices(pipelines: Sequence[Pipeline], *, open_only: bool = True) -> list[Any]:
    """Stages grouped by pipeline (``<optgroup>``), from pipelines with prefetched stages."""
    groups: list[Any] = []
    for pipeline in pipelines:
        stages = [
            (s.pk, f"{s.name} ({s.probability}%)")
            for s in pipeline.stages.all()
            if not open_only or s.kind == StageKind.OPEN
        ]
        if stages:
            groups.append((pipeline.name, stages))
    return groups


def lost_reason_choices() -> list[tuple[str, Any]]:
    return [("", _("Choose a reason")), *LostReason.choices]


def set_choices(form: forms.Form, name: str, choices: Any) -> None:
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)
    field.choices = choices


class ServiceErrors:
    """Puts a service's ``ValidationError`` onto the fields it names (the rest onto the form)."""

    # Service field name → form field name, where they differ.
    field_map: Mapping[str, str] = {}

    def add_service_errors(self, exc: SokyakuError, *, prefix: str = "") -> None:
        form: Any = self
        if not exc.field_errors:
            form.add_error(None, exc.message)
            return
        for key, message in exc.field_errors.items():
            name = key.removeprefix(prefix)
            name = self.field_map.get(name, name)
            form.add_error(name if name in form.fields else None, message)


class DealForm(ServiceErrors, forms.Form):
    """A deal's own fields. ``stage`` is only on the create form (later the board moves it);
    ``version`` only on the edit form (a save over someone else's change is refused)."""

    name = forms.CharField(label=_("Deal name"), max_length=200)
    contact = forms.IntegerField(
        label=_("Contact ID"),
        required=False,
        min_value=1,
        help_text=_(
            "The number in the contact page's address. “New deal” on a contact fills it in."
        ),
    )
    owner = forms.TypedChoiceField(label=_("Owner"), coerce=int, required=False, empty_value=None)
    amount = forms.CharField(
        label=_("Amount (JPY)"),
        required=False,
        max_length=30,
        widget=AMOUNT_WIDGET,
        help_text=_("Leave empty to use the total of the lines."),
    )
    expected_close = forms.CharField(
        label=_("Expected close"), required=False, max_length=10, widget=DATE_WIDGET
    )
    forecast_category = forms.ChoiceField(
        label=_("Forecast category"),
        choices=ForecastCategory.choices,
        initial=ForecastCategory.PIPELINE,
        required=False,
        help_text=_("How sure you are of it. Omitted deals count in no forecast."),
    )
    stage = forms.TypedChoiceField(label=_("Stage"), coerce=int)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(
        self,
        *args: Any,
        owners: Choices,
        pipelines: Sequence[Pipeline] = (),
        editing: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "owner", [("", "—"), *owners])
        if editing:
            del self.fields["stage"]
        else:
            del self.fields["version"]
            set_choices(self, "stage", stage_choices(pipelines))


class LineForm(forms.Form):
    """One line: a product of the catalogue (its name and price are the defaults) or a named
    item, a quantity and a unit price."""

    product = forms.TypedChoiceField(
        label=_("Product"), coerce=int, required=False, empty_value=None
    )
    name = forms.CharField(label=_("Item"), required=False, max_length=150)
    quantity = forms.CharField(
        label=_("Quantity"),
        required=False,
        max_length=10,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "size": 4}),
    )
    unit_price = forms.CharField(
        label=_("Unit price (JPY)"),
        required=False,
        max_length=30,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "placeholder": _("catalogue price")}),
    )

    def __init__(self, *args: Any, products: Choices = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "product", [("", "—"), *products])

    def is_blank(self) -> bool:
        data = self.cleaned_data
        return not (data.get("product") or data.get("name") or data.get("unit_price"))


if TYPE_CHECKING:
    _FormSet = BaseFormSet[LineForm]
else:
    _FormSet = BaseFormSet  # not subscriptable at run time


class BaseLineFormSet(_FormSet):
    """The deal's lines; blank rows and rows ticked for removal are left out."""

    def lines(self) -> list[tuple[LineForm, dict[str, Any]]]:
        """The kept rows with their input as the services take it."""
        kept = []
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or form.is_blank():
                continue
            if self.can_delete and form.cleaned_data.get("DELETE"):
                continue
            data = form.cleaned_data
            kept.append(
                (
                    form,
                    {
                        "product": data.get("product"),
                        "name": data.get("name", ""),
                        "quantity": data.get("quantity") or 1,
                        "unit_price": data.get("unit_price") or None,
                    },
                )
            )
        return kept

    def add_service_errors(self, exc: SokyakuError, kept: Sequence[LineForm]) -> bool:
        """Put ``lines.<i>.<field>`` errors onto the i-th kept row; ``True`` when any was."""
        placed = False
        for key, message in exc.field_errors.items():
            parts = key.split(".")
            if len(parts) == 3 and parts[0] == "lines" and parts[1].isdigit():
                index = int(parts[1])
                if index < len(kept):
                    form = kept[index]
                    form.add_error(parts[2] if parts[2] in form.fields else None, message)
                    placed = True
        return placed


LineFormSet = cast(
    type[BaseLineFormSet],
    formset_factory(LineForm, formset=BaseLineFormSet, extra=2, can_delete=True),
)


class MoveForm(forms.Form):
    """A move on the board (drag and drop, or the card's select): the stage, the version the
    card showed, and for a lost stage the reason."""

    stage = forms.IntegerField(min_value=1)
    version = forms.IntegerField(min_value=1)
    lost_reason = forms.CharField(required=False, max_length=20)
    note = forms.CharField(required=False, max_length=2000)


class WinForm(forms.Form):
    note = forms.CharField(
        label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class LoseForm(ServiceErrors, forms.Form):
    field_map = {"lost_reason": "reason"}

    reason = forms.ChoiceField(label=_("Why was it lost?"), choices=lost_reason_choices)
    note = forms.CharField(
        label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class QualifyDealForm(ServiceErrors, forms.Form):
    """The deal part of accepting a handoff (the BANT part is lifecycle's ``BantForm``)."""

    name = forms.CharField(label=_("Deal name"), max_length=200, required=False)
    amount = forms.CharField(
        label=_("Amount (JPY)"), required=False, max_length=30, widget=AMOUNT_WIDGET
    )
    expected_close = forms.CharField(
        label=_("Expected close"), required=False, max_length=10, widget=DATE_WIDGET
    )
    stage = forms.TypedChoiceField(label=_("Pipeline and stage"), coerce=int)
    products = forms.TypedMultipleChoiceField(
        label=_("Products"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Each product becomes a line at its catalogue price."),
    )

    def __init__(
        self,
        *args: Any,
        pipelines: Sequence[Pipeline],
        products: Choices,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "stage", stage_choices(pipelines))
        set_choices(self, "products", list(products))

    def to_input(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "amount": data["amount"] or None,
            "expected_close": data["expected_close"] or None,
            "stage": data["stage"],
            "lines": [{"product": pk, "quantity": 1} for pk in data["products"]],
        }

    def add_service_errors(self, exc: SokyakuError, *, prefix: str = "deal.") -> None:
        for key in list(exc.field_errors):
            if key.startswith(f"{prefix}lines."):
                exc.field_errors.setdefault(f"{prefix}products", exc.field_errors.pop(key))
        super().add_service_errors(exc, prefix=prefix)


class PipelineForm(ServiceErrors, forms.Form):
    name = forms.CharField(label=_("Pipeline name"), max_length=100)
    is_default = forms.BooleanField(label=_("Default pipeline"), required=False)


class StageForm(ServiceErrors, forms.Form):
    name = forms.CharField(label=_("Stage name"), max_length=50)
    probability = forms.IntegerField(label=_("Probability (%)"), min_value=0, max_value=100)
    kind = forms.ChoiceField(label=_("Kind"), choices=StageKind.choices)
    stagnation_days = forms.IntegerField(
        label=_("Stagnation alert after (days)"),
        required=False,
        min_value=1,
        max_value=365,
        help_text=_("Open stages only. Empty: no alert."),
    )
    position = forms.IntegerField(
        label=_("Position"),
        required=False,
        min_value=1,
        help_text=_("1 is the first column. Empty: keep (new open stages go before won/lost)."),
    )

    @classmethod
    def initial_for(cls, stage: DealStage) -> dict[str, Any]:
        return {
            "name": stage.name,
            "probability": stage.probability,
            "kind": stage.kind,
            "stagnation_days": stage.stagnation_days,
            "position": None,
        }


class ProductForm(ServiceErrors, forms.Form):
    name = forms.CharField(label=_("Product name"), max_length=150)
    sku = forms.CharField(label=_("SKU"), max_length=50)
    category = forms.CharField(label=_("Category"), max_length=50, required=False)
    unit_price = forms.IntegerField(label=_("Unit price (JPY)"), min_value=0)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    @classmethod
    def initial_for(cls, product: Product) -> dict[str, Any]:
        return {
            "name": product.name,
            "sku": product.sku,
            "category": product.category,
            "unit_price": product.unit_price,
            "is_active": product.is_active,
        }


class RewardForm(forms.Form):
    status = forms.ChoiceField(label=_("Reward"), choices=RewardStatus.choices)
