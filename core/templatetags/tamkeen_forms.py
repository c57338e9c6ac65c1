"""Form fields drawn as Material fields (core/includes/field.html).

viewflow's own renderer turns fields into web components that build their markup in the
browser; Tamkeen's forms stay server-rendered, with the same Material (MDC) classes, so the
inputs keep their ids and labels, and the pages work before any script has run.
"""

from django import forms, template

register = template.Library()

# The kinds field.html knows how to draw, from the widget's class.
_KINDS = (
    (forms.HiddenInput, "hidden"),
    (forms.CheckboxInput, "checkbox"),
    (forms.RadioSelect, "choices"),  # before Select: RadioSelect is a ChoiceWidget too
    (forms.CheckboxSelectMultiple, "choices"),
    (forms.SelectMultiple, "select-multiple"),
    (forms.Select, "select"),
    (forms.Textarea, "textarea"),
    (forms.ClearableFileInput, "file"),
    (forms.FileInput, "file"),
)

_INPUT_CLASSES = {
    "checkbox": "mdc-checkbox__native-control",
    "file": "mdc-text-field__input tamkeen-file-input",
}


@register.filter
def field_kind(bound_field) -> str:
    """How field.html draws ``bound_field``: checkbox, choices, select, textarea, file, text."""
    widget = bound_field.field.widget
    for widget_class, kind in _KINDS:
        if isinstance(widget, widget_class):
            return kind
    return "text"


def _with_class(attrs: dict, css_class: str) -> dict:
    existing = attrs.get("class", "")
    return {**attrs, "class": f"{existing} {css_class}".strip()}


@register.filter
def material_widget(bound_field):
    """The field's widget with the Material class of its kind added to its own."""
    kind = field_kind(bound_field)
    css_class = _INPUT_CLASSES.get(kind, "mdc-text-field__input")
    return bound_field.as_widget(attrs=_with_class(bound_field.field.widget.attrs, css_class))


@register.filter
def material_choice(choice):
    """One radio button or checkbox of a RadioSelect / CheckboxSelectMultiple, unlabelled
    (field.html writes the label next to the Material control)."""
    css_class = "mdc-radio__native-control" if choice.data["type"] == "radio" else "mdc-checkbox__native-control"
    widget = {**choice.data, "attrs": _with_class(choice.data["attrs"], css_class), "wrap_label": False}
    return choice.parent_widget._render(choice.template_name, {"widget": widget}, choice.renderer)
